"""What the end-to-end tests share: the config tables of the sources on the real servers, the
permission tables, the names that mean "everyone", and the repository's passthrough under
``responses``. A test adds its own keys under a table::

    SOURCE = MISAGO_FORUM + WHOLE_PASS            # then SOURCE.format(url=URL)
    PERMISSIONS = permissions({"role:moderator": "GROUP_forum_moderators"})

The tables are ``str.format`` templates: ``{url}`` (Misago, WordPress), ``{api}`` and ``{state}``
(MediaWiki, WordPress: the server's state folder holding the password file).
"""
from __future__ import annotations

import responses

MEDIAWIKI_WIKI = """
[sources.wiki]
type = "mediawiki"
api_url = "{api}"
username = "Admin@connector"
password_file = "{state}/botpassword"
"""
# the password file is written by the test, beside its config
MISAGO_FORUM = """
[sources.forum]
type = "misago"
base_url = "{url}"
username = "admin"
password_file = "misago-password"
public_categories = ["Engineering"]
"""
STAFF_LOUNGE = """[sources.forum.category_visibility]
"Staff lounge" = ["role:moderator"]
"""
WORDPRESS_BLOG = """
[sources.blog]
type = "wordpress"
base_url = "{url}"
username = "admin"
app_password_file = "{state}/app_password"
"""
# the change sweep covers the whole archive each run: the period is one sync interval
WHOLE_PASS = """sweep_period_days = 0.0104
sync_every_minutes = 15
"""
WORLD = {"anyone", "anonymous", "cmis:anyone", "cmis:anonymous", "GROUP_EVERYONE", "Everyone", "guest", "*"}


def permissions(principals: dict[str, str]) -> str:
    """The ``[permissions]`` tables: the archive's admin and records group, and ``principals``
    (source principal -> ECM principal)."""
    mapped = "".join(f'"{source}" = "{ecm}"\n' for source, ecm in principals.items())
    return ('\n[permissions]\narchive_admins = ["admin"]\nrestricted_readers = ["GROUP_records"]\n'
            "[permissions.principals]\n" + mapped)


def passthrough(cmis_url: str, **kw) -> responses.RequestsMock:
    """A ``responses`` mock for a source's fixtures that lets every request to the repository's
    server through (the repository side is never mocked)."""
    rsps = responses.RequestsMock(**kw)
    rsps.add_passthru(cmis_url.split("/inmemory")[0])
    return rsps
