"""The ``[compliance]`` table of the config file, validated, paths resolved next to the config.

Example::

    [compliance]
    classification = "mappings/classification.toml"   # default: the shipped file
    cmis_rm = "auto"             # use cmis:rm_* types where the repository has them: auto | on | off
    file_audit_log = true        # file new audit-log lines into <base>/_audit after every sync
    tsa_url = "https://freetsa.org/tsr"   # RFC 3161 timestamp for every export (optional)
    tsa_ca_file = "tsa-ca.pem"   # copied into the bag so `openssl ts -verify` can run (optional)
    tsa_username = "archive"     # Basic auth at the TSA (optional),
    tsa_password_env = "SA_TSA_PASSWORD"   # with the password from the environment or a _file
    organization = "Example GmbH"          # Source-Organization in bag-info.txt (optional)
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

from ..config import Config, shipped_mapping
from ..errors import ConfigError

def default_classification() -> str:
    return shipped_mapping("classification.toml")


@dataclass(frozen=True)
class Settings:
    classification_path: str
    cmis_rm: str = "auto"
    file_audit_log: bool = True
    tsa_url: str | None = None
    tsa_ca_file: str | None = None
    tsa_username: str | None = None
    tsa_password: str | None = None
    tsa_timeout: float = 30.0
    organization: str | None = None


def settings(config: Config) -> Settings:
    """The [compliance] table's settings; its keys and value types were checked when the config
    was loaded (``connector.configcheck``), its classification path resolved there too."""
    table = config.compliance
    base = os.path.dirname(config.path)

    def path(value: str | None) -> str | None:
        return None if value is None else value if os.path.isabs(value) else os.path.join(base, value)

    password = None
    if "tsa_password_env" in table:
        password = os.environ.get(table["tsa_password_env"])
        if password is None:
            raise ConfigError(f"[compliance] tsa_password_env: environment variable {table['tsa_password_env']} is not set")
    elif "tsa_password_file" in table:
        try:
            with open(path(table["tsa_password_file"]), encoding="utf-8") as fh:
                password = fh.read().strip()
        except OSError as exc:
            raise ConfigError(f"[compliance] tsa_password_file: {exc.strerror}") from None
    tsa_url = table.get("tsa_url")
    if tsa_url is not None and not str(tsa_url).startswith(("http://", "https://")):
        raise ConfigError(f"[compliance] tsa_url must be an http(s) URL, not {tsa_url!r}")
    if tsa_url and tsa_url.startswith("http://") and (table.get("tsa_username") or password is not None):
        raise ConfigError(f"[compliance] tsa_url {tsa_url}: credentials are only sent over https")
    return Settings(classification_path=config.classification_path,
                    cmis_rm=str(table.get("cmis_rm", "auto")), file_audit_log=bool(table.get("file_audit_log", True)),
                    tsa_url=tsa_url, tsa_ca_file=path(table.get("tsa_ca_file")),
                    tsa_username=table.get("tsa_username"), tsa_password=password,
                    tsa_timeout=float(table.get("tsa_timeout", 30)), organization=table.get("organization"))


def operator() -> str:
    """Who runs the command (the operating-system user), for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
