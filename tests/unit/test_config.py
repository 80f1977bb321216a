import textwrap

import pytest

from connector import config
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
