import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connector import config, configcheck
from connector.errors import ConfigError

BASE = """
[repository]
url = "http://127.0.0.1:8090/inmemory/browser"
repository_id = "A1"
username = "admin"
"""


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_secret_in_config_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="secrets are not read from the config file"):
        config.load(write(tmp_path, BASE + 'password = "hunter2"\n'))


def test_secret_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_PW", "from-env")
    cfg = config.load(write(tmp_path, BASE + 'password_env = "SA_PW"\n'))
    assert cfg.repository.password == "from-env"
    assert "from-env" not in repr(cfg)
    (tmp_path / "pw").write_text("from-file\n")
    text = BASE + 'password_file = "pw"\n[sources.wiki]\ntype = "mediawiki"\npassword_file = "pw"\n'
    cfg = config.load(write(tmp_path, text))
    assert cfg.repository.password == "from-file" and cfg.sources["wiki"].options["password"] == "from-file"
    assert "from-file" not in repr(cfg)


def test_missing_env_names_the_variable_not_a_value(tmp_path):
    with pytest.raises(ConfigError, match="SA_NOPE is not set"):
        config.load(write(tmp_path, BASE + 'password_env = "SA_NOPE"\n'))


def test_source_secret_literal_refused(tmp_path):
    (tmp_path / "pw").write_text("x")
    with pytest.raises(ConfigError, match=r"\[sources.wiki\] password"):
        config.load(write(tmp_path, BASE + 'password_file = "pw"\n[sources.wiki]\ntype = "mediawiki"\npassword = "x"\n'))


def test_bad_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(write(tmp_path, "[repository\n"))


def test_shipped_mapping_is_the_checkouts_else_the_installed_copy(tmp_path, monkeypatch):
    from connector import config as config_module
    assert config_module.shipped_mapping("default.toml").endswith("/mappings/default.toml")
    installed = tmp_path / "share" / "socialarchive" / "mappings"
    installed.mkdir(parents=True)
    (installed / "default.toml").write_text("")
    monkeypatch.setattr(config_module.sys, "prefix", str(tmp_path))
    monkeypatch.setattr(config_module.os.path, "abspath", lambda p: str(tmp_path / "site-packages/connector/config.py")
                        if p == config_module.__file__ else p)
    assert config_module.shipped_mapping("default.toml") == str(installed / "default.toml")


@pytest.mark.parametrize("permissions, named", [
    ('restricted_readers = ["GROUP_records", "Everyone"]', "restricted_readers names Everyone"),
    ('archive_admins = ["guest"]', "archive_admins names guest"),
    ('[permissions.principals]\n"group:sysop" = "GROUP_EVERYONE"', "maps group:sysop -> GROUP_EVERYONE"),
])
def test_a_world_principal_for_restricted_content_is_refused_at_load(tmp_path, permissions, named):
    (tmp_path / "pw").write_text("pw\n")
    text = BASE + 'password_file = "pw"\n[permissions]\n' + permissions + "\n"
    with pytest.raises(ConfigError, match=named):
        config.load(write(tmp_path, text))
    config.load(write(tmp_path, BASE + 'password_file = "pw"\n[permissions]\npublic_readers = ["Everyone"]\n'))


LOADABLE = BASE + 'password_file = "pw"\n'


@pytest.mark.parametrize("extra, message", [
    ('basepath = "/other"\n', r'\[repository\] basepath: unknown key \(did you mean base_path\?\)'),
    ('[stat]\nledger = "x.sqlite"\n', r"\[stat\]: unknown table \(did you mean state\?\)"),
    ('[permissions]\nrestricted_reader = ["GROUP_records"]\n',
     r"\[permissions\] restricted_reader: unknown key \(did you mean restricted_readers\?\)"),
    ('[state]\nleger = "x.sqlite"\n', r"\[state\] leger: unknown key \(did you mean ledger\?\)"),
    ('[compliance]\ntsa_ur = "https://tsa"\n', r"\[compliance\] tsa_ur: unknown key \(did you mean tsa_url\?\)"),
    ('[http]\nbackof_max = 5\n', r"\[http\] backof_max: unknown key \(did you mean backoff_max\?\)"),
    ('[repository.session]\nx = 1\n', r"\[repository\] session: unknown key"),
    ('[compliance]\ntsa_password = "x"\n', r"\[compliance\] tsa_password: secrets are not read from the config file"),
])
def test_unknown_keys_and_tables_are_errors_with_the_closest_name(tmp_path, extra, message):
    (tmp_path / "pw").write_text("pw\n")
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, LOADABLE + extra))


@pytest.mark.parametrize("extra, message", [
    ('timeout = "fast"\n', r'\[repository\] timeout: expected a number, not "fast"'),
    ('verify_tls = 1\n', r"\[repository\] verify_tls: expected true, false or a CA bundle path, not 1"),
    ('base_path = ["/a"]\n', r'\[repository\] base_path: expected a string, not \["/a"\]'),
    ('[permissions]\nrestricted_readers = "GROUP_records"\n',
     r'\[permissions\] restricted_readers: expected a list of strings, not "GROUP_records"'),
    ('[permissions.principals]\n"group:sysop" = 1\n', r"\[permissions.principals\] group:sysop: expected a string, not 1"),
    ('[permissions]\nprincipals = "x"\n', r'\[permissions\] principals: expected a table of strings, not "x"'),
    ('[http]\nwrite_attempts = 2.5\n', r"\[http\] write_attempts: expected a whole number, not 2.5"),
    ('[compliance]\nfile_audit_log = "yes"\n', r'\[compliance\] file_audit_log: expected true or false, not "yes"'),
    ('[compliance]\ncmis_rm = "always"\n', r'\[compliance\] cmis_rm: expected "auto", "on" or "off", not "always"'),
    ('[sources]\nwiki = "mediawiki"\n', r'sources.wiki: expected a table \(\[sources.wiki\]\), not "mediawiki"'),
    ('[sources.wiki]\ntype = 1\n', r"\[sources.wiki\] type: expected a string, not 1"),
    ('mapping = "m.toml"\n[x]\n', r"mapping: expected a table \(\[mapping\]\)"),
])
def test_types_are_checked_before_anything_is_built_naming_key_and_type(tmp_path, extra, message):
    (tmp_path / "pw").write_text("pw\n")
    text = (extra + LOADABLE) if extra.startswith("mapping =") else LOADABLE + extra
    with pytest.raises(ConfigError, match=message) as caught:
        config.load(write(tmp_path, text))
    assert "argument" not in str(caught.value) and "__init__" not in str(caught.value)


SCALARS = st.one_of(st.text(max_size=3), st.integers(), st.floats(allow_nan=False), st.booleans())
VALUES = SCALARS | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=3), SCALARS, max_size=2)
KEYS = st.sampled_from(sorted({k for table in configcheck.TABLES.values() for k in table} | {"basepath", "x"}))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*configcheck.TABLES, "sources", "stat"]),
                       st.dictionaries(KEYS, VALUES, max_size=3) | VALUES, max_size=3))
def test_what_the_check_lets_through_is_only_known_keys_of_the_right_type(data):
    """The counter-example: a table the check passes with a key nobody reads or a value its
    loader would choke on (any other exception than ConfigError is one too)."""
    try:
        configcheck.check(data)
    except ConfigError as exc:
        assert "Traceback" not in str(exc)
        return
    for name, table in data.items():
        if name == "sources":
            assert all(isinstance(t, dict) for t in table.values())
            continue
        assert name in configcheck.TABLES
        assert all(configcheck.TABLES[name][key][1](value) for key, value in table.items())
