"""The procedure documentation is generated from the configuration, without a server."""
import hashlib
import textwrap

from click.testing import CliRunner

from cli import main
from connector import config
from connector.compliance.procedure import generate

from .conftest import compliance_config

SOURCES = textwrap.dedent("""
    [sources.wiki]
    type = "mediawiki"
    api_url = "http://wiki.example/api.php"
    username = "Archiver@bot"
    password_env = "SA_TEST_NOT_SET_ANYWHERE"
""")


def test_procedure_names_sources_classes_permissions_and_the_config_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_TEST_NOT_SET_ANYWHERE", "s3cret-value")
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser",
                             extra='tsa_url = "https://tsa.example/tsr"\n')
    with open(path, "a") as fh:
        fh.write(SOURCES)
    cfg = config.load(path)
    text = generate(cfg)
    assert text.startswith("# Verfahrensdokumentation")
    assert cfg.fingerprint == _digest_of(("config", path), ("mapping", cfg.mapping_path),
                                         ("classification", str(tmp_path / "classes.toml")))
    assert f"| all three (the config digest of every run, audit entry 'run') | – | {cfg.fingerprint} |" in text
    assert f"| configuration | {path} | {hashlib.sha256(open(path, 'rb').read()).hexdigest()} |" in text
    assert "| wiki | mediawiki | api_url = http://wiki.example/api.php; username = Archiver@bot |" in text
    assert "s3cret-value" not in text and "password" not in text.split("## 3.")[0].split("## 2.")[1]
    assert "| booking-voucher | 8 | gobd-8 |" in text and "| short | 3 | custom |" in text
    assert "| 1 | invoices | tags in [invoice] | booking-voucher |" in text
    assert "default class **organisation**" in text
    assert "| restricted readers (cmis:read) | GROUP_records |" in text and "| group:sysop | GROUP_wiki_admins |" in text
    assert "`{source}/{space}/{year}`" in text and "| sa:retainUntil | datetime |" in text
    assert "## 8. Schedule" in text and "## 9. Verification" in text and "exits with code 7" in text
    assert "timestamped (RFC 3161) by `https://tsa.example/tsr`" in text
    assert "| cmislib | 0.7.0 |" in text

    out = tmp_path / "procedure.md"
    result = CliRunner().invoke(main, ["docs", "procedure", "--out", str(out), "--config", path])
    assert result.exit_code == 0, result.output
    assert out.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]   # same text, but for the generation time


def _digest_of(*files: tuple[str, str]) -> str:
    return hashlib.sha256("".join(f"{role} {hashlib.sha256(open(f, 'rb').read()).hexdigest()}\n"
                                  for role, f in files).encode()).hexdigest()


def test_the_config_digest_covers_every_file_a_run_loads(tmp_path):
    """The TOML file, the mapping file and the classification rules: a changed rule is a changed digest."""
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser")
    before = config.load(path).fingerprint
    rules = tmp_path / "classes.toml"
    rules.write_text(rules.read_text().replace("years = 3", "years = 30"))
    after = config.load(path).fingerprint
    assert after != before and config.load(path).fingerprint == after          # stable while nothing changes
    mapping = tmp_path / "mapping.toml"
    mapping.write_bytes(open(config.load(path).mapping_path, "rb").read())
    with open(path, "a") as fh:
        fh.write(f'\n[mapping]\nfile = "{mapping}"\n')
    own_mapping = config.load(path).fingerprint
    mapping.write_text(mapping.read_text() + "\n# changed\n")
    assert config.load(path).fingerprint not in (before, after, own_mapping)


def test_unknown_compliance_keys_are_refused(tmp_path):
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser", extra='tsa_password = "x"\n')
    result = CliRunner().invoke(main, ["docs", "procedure", "--config", path])
    assert result.exit_code == 2 and "tsa_password_env" in result.output
