"""The deployment files under docker/ (image, compose, Kubernetes, systemd), JSON logs and the
metrics file.

No container engine or cluster is needed, and none is faked:
- compose.yaml is checked against the Compose Specification's JSON schema (compose-spec.json here,
  from compose-spec/compose-spec, Apache-2.0), and every file it names must exist;
- the Dockerfiles are read with BuildKit's own parser (PyPI ``dockerfile``), their COPY sources
  must exist and not be excluded by the Dockerfile's .dockerignore;
- the Kubernetes manifests are validated against the Kubernetes OpenAPI schemas in strict mode
  (PyPI ``kubernetes-validate``), for the oldest version we claim and the newest it knows;
- the systemd units go through ``systemd-analyze verify``;
- every command the image, compose, Kubernetes and systemd run is parsed by the CLI's own click
  tree (unknown commands, options or bad values fail) and appears in the README;
- a run with ``--log-format json`` writes only JSON lines to stderr; the metrics file parses with
  ``prometheus_client``'s text parser.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import textwrap
import tomllib
import sys
import warnings
import zipfile
from pathlib import Path

import click
import dockerfile
import jsonschema
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

import cli
from connector import config as config_mod
from connector.exitcodes import ExitCode
from connector.metrics import write_metrics
from connector.sources import build as build_source
from connector.summary import Summary

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = DOCKER / "k8s"
SYSTEMD = DOCKER / "systemd"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / "socialarchive.env.example"
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.json")
# podFailurePolicy is GA from 1.31; CronJob.timeZone from 1.27
K8S_VERSIONS = ("1.31.0", kubernetes_validate.latest_version())
ALFRESCO_CLASSES = "/usr/local/tomcat/shared/classes/"


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI configures the root logger; give the next test the logging it had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


# --- helpers ---------------------------------------------------------------------------------
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def workers(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if s.get("build", {}).get("dockerfile") == "docker/Dockerfile"}


def short_volumes(service: dict) -> list[tuple[str, str]]:
    out = []
    for vol in service.get("volumes", []):
        assert isinstance(vol, str), f"use the short volume syntax: {vol}"
        source, target = vol.split(":")[:2]
        out.append((source, target))
    return out


def config_mount(service: dict) -> Path:
    mounts = {t: s for s, t in short_volumes(service)}
    return (DOCKER / mounts["/etc/socialarchive/socialarchive.toml"]).resolve()


def env_names(toml_text: str) -> set[str]:
    """Every environment variable a config names with <key>_env."""
    found = set()

    def walk(table):
        for key, value in table.items():
            if isinstance(value, dict):
                walk(value)
            elif key.endswith("_env"):
                found.add(value)
    walk(tomllib.loads(toml_text))
    return found


def load_config(path: Path, names: set[str], monkeypatch) -> config_mod.Config:
    for name in names:
        monkeypatch.setenv(name, "not-a-real-secret")
    cfg = config_mod.load(str(path))
    for name, source in cfg.sources.items():
        build_source(name, source.type, source.options)  # option names the source class accepts
    return cfg


def parse_dockerfile(path: Path):
    return dockerfile.parse_file(str(path))


def instructions(path: Path, cmd: str):
    return [c for c in parse_dockerfile(path) if c.cmd == cmd]


def dockerignore_excludes(ignore_file: Path, rel: str) -> bool:
    """Whether the .dockerignore rules (last match wins, ! re-includes) exclude ``rel``."""
    excluded = False
    if not ignore_file.exists():
        return False
    for line in ignore_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        pattern = pattern[3:] if pattern.startswith("**/") else pattern
        hit = (fnmatch.fnmatch(rel, pattern) or rel.startswith(pattern + "/")
               or fnmatch.fnmatch(os.path.basename(rel), pattern) and "**/" in line)
        if hit:
            excluded = not negate
    return excluded


def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def k8s_kind(kind: str) -> list[dict]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


def pod_specs() -> list[tuple[str, dict]]:
    out = []
    for name, doc in k8s_documents():
        if doc["kind"] == "CronJob":
            out.append((name, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
        elif doc["kind"] == "Job":
            out.append((name, doc["spec"]["template"]["spec"]))
    return out


def unit_entries(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}, keeping repeated keys."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def unit_value(path: Path, section: str, key: str) -> str:
    values = [v for k, v in unit_entries(path)[section] if k == key]
    assert values, f"{path.name}: [{section}] has no {key}"
    return values[-1]


# --- the worker image --------------------------------------------------------------------------
def test_worker_image_runs_the_cli_as_a_non_root_user():
    path = DOCKER / "Dockerfile"
    froms = instructions(path, "FROM")
    assert froms[-1].value[0].startswith("python:3.11-slim")
    assert any(re.search(r"\bpip install \.(\s|$)", run.value[0]) for run in instructions(path, "RUN"))
    user = instructions(path, "USER")[-1].value[0]
    assert user.split(":")[0] not in ("root", "0")
    entrypoint, cmd = instructions(path, "ENTRYPOINT")[-1], instructions(path, "CMD")[-1]
    assert entrypoint.json and list(entrypoint.value) == ["socialarchive"]
    assert cmd.json and list(cmd.value) == ["sync"]
    assert "/var/lib/socialarchive" in [v for vol in instructions(path, "VOLUME") for v in vol.value]
    env = {}
    for inst in instructions(path, "ENV"):
        env.update(zip(inst.value[::2], inst.value[1::2]))
    assert env["SOCIALARCHIVE_CONFIG"] == "/etc/socialarchive/socialarchive.toml"
    assert instructions(path, "STOPSIGNAL")[-1].value[0] == "SIGINT"  # the CLI stops cleanly on SIGINT
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["socialarchive"] == "connector.cli:main"


def test_a_plain_install_ships_the_mappings_and_the_image_relies_on_it(tmp_path):
    """``pip install .`` (what the image runs) carries mappings/ as data files; the configs the
    image and the CronJob use name no other mapping file, so the shipped one is in force."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("socialarchive-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n.split("/data/", 1)[1]: zf.read(n) for n in zf.namelist() if "/data/share/" in n}
    assert shipped == {f"share/socialarchive/mappings/{name}": (ROOT / "mappings" / name).read_bytes()
                       for name in ("default.toml", "classification.toml")}
    path = DOCKER / "Dockerfile"
    copies = {c.value[0]: c.value[-1] for c in instructions(path, "COPY") if len(c.value) == 2}
    assert copies["mappings"] == "./mappings"                    # into the build context of pip install
    configs = [config_mount(s) for s in workers(compose()).values()] + [K8S / "configmap.yaml"]
    for path in configs:
        text = path.read_text()
        if path.suffix == ".yaml":
            text = yaml.safe_load(text)["data"]["socialarchive.toml"]
        assert "mapping" not in tomllib.loads(text), path


def test_opencmis_image_is_the_server_and_patches_of_servers_opencmis():
    path = DOCKER / "opencmis" / "Dockerfile"
    up = (ROOT / "servers" / "opencmis" / "up.sh").read_text()
    gavs = {m[0]: m[1] for m in re.findall(r"^(WAR_GAV|JETTY_GAV)=(\S+)", up, re.M)}
    adds = instructions(path, "ADD")
    args = dict(a.value[0].split("=", 1) for a in instructions(path, "ARG"))
    urls = {}
    for add in adds:
        checksum = [f for f in add.flags if f.startswith("--checksum=sha256:")]
        assert checksum, f"ADD without a pinned checksum: {add.original}"
        url = add.value[0].replace("${MAVEN}", args["MAVEN"])
        assert url.startswith("https://repo1.maven.org/maven2/")
        urls[url] = checksum[0].split(":", 1)[1]
    for gav in gavs.values():
        group, artifact, version, *packaging = gav.split(":")
        ext = packaging[0] if packaging else "jar"
        expected = (f"https://repo1.maven.org/maven2/{group.replace('.', '/')}/{artifact}/{version}/"
                    f"{artifact}-{version}.{ext}")
        assert expected in urls, f"{gav} is not what the image downloads"
        # the checksum must be that of the artifact Maven already fetched here, if it did
        for cached in (Path.home() / ".m2" / "repository" / group.replace(".", "/") / artifact / version /
                       f"{artifact}-{version}.{ext}",
                       Path(os.environ.get("SOCIALARCHIVE_CACHE", Path.home() / ".cache" / "socialarchive"))
                       / "opencmis" / f"{artifact}-{version}.{ext}"):
            if cached.exists():
                assert hashlib.sha256(cached.read_bytes()).hexdigest() == urls[expected], cached
    copies = [c for c in instructions(path, "COPY") if not any(f.startswith("--from") for f in c.flags)]
    assert [c.value[0] for c in copies] == ["servers/opencmis/patch_war.py"]
    patch_dest = copies[0].value[1]
    assert any(patch_dest in run.value[0] for run in instructions(path, "RUN"))
    entry = " ".join(instructions(path, "ENTRYPOINT")[-1].value)
    assert "--path /inmemory" in entry and "--port 8080" in entry
    assert instructions(path, "USER")[-1].value[0].split(":")[0] not in ("root", "0")


# --- compose -----------------------------------------------------------------------------------
def test_compose_follows_the_compose_specification():
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    doc = compose()
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors
    # the schema really rejects what Compose rejects
    broken = json.loads(json.dumps(doc))
    broken["services"]["worker"]["comand"] = ["sync"]
    assert list(validator.iter_errors(broken))


def test_compose_services_profiles_and_healthchecks():
    doc = compose()
    services = doc["services"]
    default = {name for name, s in services.items() if not s.get("profiles")}
    assert default == {"worker", "opencmis"}
    alfresco = {name for name, s in services.items() if "alfresco" in s.get("profiles", [])}
    assert {"alfresco", "postgres", "activemq", "worker-alfresco"} <= alfresco
    for name, service in services.items():
        if name in workers(doc):
            continue  # batch jobs: they run one sync and exit
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    probe = " ".join(services["opencmis"]["healthcheck"]["test"])
    assert "/inmemory/browser" in probe and re.search(r"-u \S+:\S+", probe), probe
    for name, service in services.items():
        for dep, spec in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if not service.get("profiles"):
                assert not services[dep].get("profiles"), f"default {name} depends on profiled {dep}"
            if spec.get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), f"{dep} has no healthcheck to wait for"


def test_compose_workers_are_locked_down_and_keep_the_ledger_on_a_volume():
    doc = compose()
    assert set(workers(doc)) == {"worker", "worker-alfresco"}
    for name, service in workers(doc).items():
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        volumes = dict((t, s) for s, t in short_volumes(service))
        assert volumes["/var/lib/socialarchive"] in doc["volumes"], name
        assert volumes["/etc/socialarchive/socialarchive.toml"].startswith("./")


def test_compose_references_only_files_that_exist():
    doc = compose()
    ignored = (DOCKER / ".gitignore").read_text().split()
    for name, service in doc["services"].items():
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
        for source, target in short_volumes(service):
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists(), f"{name}: mounted {source} does not exist"
            else:
                assert source in doc["volumes"], f"{name}: volume {source} not declared"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            env_path = env_file if isinstance(env_file, str) else env_file["path"]
            if not (DOCKER / env_path).exists():
                # the real one holds secrets: it is made from the committed example and git-ignored
                assert (DOCKER / (env_path + ".example")).exists(), f"{name}: {env_path}(.example)"
                assert env_path in ignored, f"{env_path} is not in docker/.gitignore"


def test_dockerfile_sources_exist_in_the_build_context_and_are_not_ignored():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if not build:
            continue
        context = (DOCKER / build["context"]).resolve()
        path = context / build["dockerfile"]
        ignore = path.with_name(path.name + ".dockerignore")
        for inst in instructions(path, "COPY") + instructions(path, "ADD"):
            if any(f.startswith("--from") for f in inst.flags):
                continue
            for source in inst.value[:-1]:
                if re.match(r"^(https?://|\$\{)", source):
                    continue
                assert (context / source).exists(), f"{path}: {source} is not in the build context"
                assert not dockerignore_excludes(ignore, source), f"{ignore.name} excludes {source}"
                if (context / source).is_dir():
                    for file in (context / source).rglob("*.py"):
                        rel = file.relative_to(context).as_posix()
                        if "__pycache__" not in rel:
                            assert not dockerignore_excludes(ignore, rel), f"{ignore.name} excludes {rel}"
        assert dockerignore_excludes(ignore, ".git/config") and dockerignore_excludes(ignore, "tests/conftest.py")


def test_compose_secrets_come_from_the_env_file(monkeypatch):
    doc, example = compose(), env_example()
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text()))
    assert interpolated and interpolated <= set(example), interpolated - set(example)
    for name, service in workers(doc).items():
        assert service["env_file"] == "socialarchive.env"
        config_path = config_mount(service)
        names = env_names(config_path.read_text())
        assert names and names <= set(example), f"{config_path.name} needs {names - set(example)}"
        cfg = load_config(config_path, names, monkeypatch)  # refuses literal secrets
        host = re.match(r"https?://([^:/]+)", cfg.repository.url).group(1)
        dep = next(iter(service["depends_on"]))
        assert host == dep, f"{name} talks to {host} but waits for {dep}"
        assert cfg.ledger_path.startswith("/var/lib/socialarchive/")


def test_alfresco_gets_our_content_model_at_start_up():
    alfresco = compose()["services"]["alfresco"]
    mounts = {Path(s).name: t for s, t in short_volumes(alfresco) if s.startswith("./")}
    context_target = mounts["socialarchive-model-context.xml"]
    model_target = mounts["socialarchive-model.xml"]
    assert context_target == ALFRESCO_CLASSES + "alfresco/extension/socialarchive-model-context.xml"
    assert model_target.startswith(ALFRESCO_CLASSES + "alfresco/extension/")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    tree = etree.parse(str(DOCKER / "alfresco" / "socialarchive-model-context.xml"), parser)
    ns = {"b": "http://www.springframework.org/schema/beans"}
    bean = tree.find("b:bean", ns)
    assert bean.get("parent") == "dictionaryModelBootstrap"
    models = [v.text.strip() for v in bean.findall("b:property[@name='models']/b:list/b:value", ns)]
    assert models == [model_target[len(ALFRESCO_CLASSES):]]
    model = etree.parse(str(DOCKER / "alfresco" / "socialarchive-model.xml"), parser)
    assert model.getroot().get("name") == "sa:socialarchive"


# --- Kubernetes --------------------------------------------------------------------------------
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("name,doc", k8s_documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_kubernetes_manifests_validate(name, doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def test_kubernetes_validator_rejects_broken_manifests():
    cronjob = k8s_kind("CronJob")[0]
    typo = json.loads(json.dumps(cronjob))
    typo["spec"]["concurrencyPolicyy"] = typo["spec"].pop("concurrencyPolicy")
    wrong_type = json.loads(json.dumps(cronjob))
    wrong_type["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "two"
    for broken in (typo, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


def test_kubernetes_cronjob_and_backfill_job():
    cronjobs, jobs = k8s_kind("CronJob"), k8s_kind("Job")
    assert [c["metadata"]["name"] for c in cronjobs] == ["socialarchive-sync-wiki"]
    assert cronjobs[0]["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjobs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["sync", "--source", "wiki"]
    assert [j["spec"]["template"]["spec"]["containers"][0]["args"] for j in jobs] == [
        ["backfill", "--source", "wiki", "--since", "2020-01-01"]]


def test_kubernetes_pods_get_config_secrets_and_ledger(tmp_path, monkeypatch):
    pvcs = {p["metadata"]["name"] for p in k8s_kind("PersistentVolumeClaim")}
    configmaps = {c["metadata"]["name"]: c for c in k8s_kind("ConfigMap")}
    secrets = {s["metadata"]["name"]: s for s in k8s_kind("Secret")}
    uid = instructions(DOCKER / "Dockerfile", "USER")[-1].value[0].split(":")[0]
    specs = pod_specs()
    assert len(specs) == 2
    for name, pod in specs:
        assert pod["restartPolicy"] == "Never"
        assert str(pod["securityContext"]["runAsUser"]) == uid and pod["securityContext"]["runAsNonRoot"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        assert mounts["/var/lib/socialarchive"]["persistentVolumeClaim"]["claimName"] in pvcs, name
        configmap = configmaps[mounts["/etc/socialarchive"]["configMap"]["name"]]
        env = {e["name"]: e for e in container["env"]}
        assert env["SOCIALARCHIVE_CONFIG"]["value"] == "/etc/socialarchive/socialarchive.toml"
        toml_text = configmap["data"]["socialarchive.toml"]
        for var in env.values():
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]]["stringData"], f"{name}: {ref}"
        needed = env_names(toml_text)
        provided = {n for n, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
        assert needed and needed <= provided, f"{name}: the config needs {needed - provided}"
        config_file = tmp_path / f"{name}.toml"
        config_file.write_text(toml_text)
        cfg = load_config(config_file, needed, monkeypatch)
        assert cfg.ledger_path.startswith("/var/lib/socialarchive/")


def test_kustomization_lists_existing_manifests():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    assert "job-backfill-wiki.yaml" not in kustomization["resources"]  # started by hand, once
    assert "secret.example.yaml" not in kustomization["resources"]    # never the example values


# --- systemd -----------------------------------------------------------------------------------
def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    return tool


def test_systemd_units_verify(tmp_path):
    tool = _systemd_analyze()
    service = SYSTEMD / "socialarchive-sync.service"
    binary = shlex.split(unit_value(service, "Service", "ExecStart"))[0]
    # verify checks that ExecStart is executable: point it at a stand-in with the same name
    stand_in = tmp_path / "bin" / Path(binary).name
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for unit in ("socialarchive-sync.service", "socialarchive-sync.timer"):
        text = (SYSTEMD / unit).read_text().replace(binary, str(stand_in))
        (tmp_path / unit).write_text(text)
    result = subprocess.run([tool, "verify", str(tmp_path / "socialarchive-sync.service"),
                             str(tmp_path / "socialarchive-sync.timer")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), \
        result.stdout + result.stderr
    # the same check does fail on a broken unit
    (tmp_path / "broken.service").write_text("[Service]\nType=oneshot\nExecStart=/nonexistent/socialarchive sync\n")
    broken = subprocess.run([tool, "verify", str(tmp_path / "broken.service")], capture_output=True, text=True,
                            timeout=120)
    assert broken.returncode != 0


def test_systemd_service_is_a_hardened_oneshot_and_the_timer_starts_it():
    tool = _systemd_analyze()
    service, timer = SYSTEMD / "socialarchive-sync.service", SYSTEMD / "socialarchive-sync.timer"
    entries = unit_entries(service)["Service"]
    settings = dict(entries)
    assert settings["Type"] == "oneshot"
    assert settings["EnvironmentFile"].startswith("/etc/socialarchive/")
    assert settings["User"] and settings["User"] != "root"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                       "RestrictSUIDSGID": "yes", "KillSignal": "SIGINT"}.items():
        assert settings.get(key) == value, f"{key}={settings.get(key)}"
    assert any(k == "SystemCallFilter" for k, _ in entries)
    assert unit_value(timer, "Timer", "Unit") == service.name
    calendar = unit_value(timer, "Timer", "OnCalendar")
    result = subprocess.run([tool, "calendar", calendar], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # exposure score of the hardening as systemd computes it: 1.2 of 10 now; the threshold is in tenths
    result = subprocess.run([tool, "security", "--offline=yes", "--threshold=20", str(service)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


# --- commands: exactly what the CLI has, and what the README says ------------------------------
def deploy_commands() -> list[tuple[str, list[str]]]:
    found = []
    image = DOCKER / "Dockerfile"
    entrypoint = list(instructions(image, "ENTRYPOINT")[-1].value)
    default_cmd = list(instructions(image, "CMD")[-1].value)
    assert entrypoint == ["socialarchive"]
    found.append(("docker/Dockerfile", default_cmd))
    for name, service in workers(compose()).items():
        assert "entrypoint" not in service
        command = service.get("command", default_cmd)
        found.append((f"compose {name}", shlex.split(command) if isinstance(command, str) else command))
    for name, pod in pod_specs():
        (container,) = pod["containers"]
        assert "command" not in container, f"{name}: the image's ENTRYPOINT is the CLI"
        found.append((f"k8s {name}", container.get("args", default_cmd)))
    exec_start = shlex.split(unit_value(SYSTEMD / "socialarchive-sync.service", "Service", "ExecStart"))
    assert Path(exec_start[0]).name == "socialarchive"
    found.append(("systemd socialarchive-sync.service", exec_start[1:]))
    return found


def _resolve(argv: list[str]):
    command, path, rest = cli.main, [], list(argv)
    while isinstance(command, click.Group):
        assert rest and rest[0] in command.commands, f"socialarchive {' '.join(argv)}: no such command"
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    return command, path, rest


@pytest.mark.parametrize("where,argv", deploy_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_deployed_commands_exist_in_the_cli(where, argv):
    command, path, rest = _resolve(argv)
    # click parses the options as it would at run time: unknown options or bad values fail here
    # with the app's context settings: click caches a command's help option from the first context
    # it is made in, so a context without them would take -h away from later tests
    ctx = command.make_context(" ".join(["socialarchive", *path]), rest, **cli.main.context_settings)
    ctx.close()


@pytest.mark.parametrize("where,argv", deploy_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_deployed_commands_are_in_the_readme(where, argv):
    readme = (ROOT / "README.md").read_text()
    assert "## Deployment" in readme
    deployment = readme.split("## Deployment", 1)[1]
    assert f"socialarchive {' '.join(argv)}" in deployment, f"{where}: `socialarchive {' '.join(argv)}`"


# --- JSON logs ---------------------------------------------------------------------------------
def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()                  # click >= 8.2 keeps stderr apart


def _json_lines(stderr: str) -> list[dict]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line on stderr: {line!r}")
        assert isinstance(entry, dict) and {"time", "level", "logger", "message"} <= set(entry), line
        out.append(entry)
    return out


def _config(tmp_path, url="http://127.0.0.1:9/") -> str:
    (tmp_path / "secret").write_text("x\n")
    path = tmp_path / "socialarchive.toml"
    path.write_text(textwrap.dedent(f"""
        [repository]
        url = "{url}"
        repository_id = "A1"
        username = "admin"
        password_file = "secret"
        [state]
        ledger = "state/ledger.sqlite"
        [compliance]
        file_audit_log = false   # no repository to file the audit log into
        [sources.wiki]
        type = "mediawiki"
        api_url = "http://127.0.0.1:9/api.php"
        username = "bot"
        password_file = "secret"
    """))
    return str(path)


def _families(path) -> dict:
    return {f.name: f for f in text_string_to_metric_families(Path(path).read_text())}


def _value(families, name, **labels):
    for sample in families[name].samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def test_json_logs_of_a_run_against_an_unreachable_repository(tmp_path):
    metrics = tmp_path / "metrics" / "socialarchive.prom"
    result = _runner().invoke(cli.main, ["sync", "--config", _config(tmp_path), "--log-format", "json",
                                         "--metrics-file", str(metrics)])
    assert result.exit_code == ExitCode.UNAVAILABLE, result.output
    entries = _json_lines(result.stderr)
    assert entries[-1]["level"] == "error" and "127.0.0.1:9" in entries[-1]["message"]
    assert any(e["level"] == "warning" and "retry" in e["message"] for e in entries)
    # the failed run is in the metrics too: unavailable, no success ever
    families = _families(metrics)
    assert _value(families, "socialarchive_run_outcome", source="wiki", outcome="unavailable") == 1
    assert _value(families, "socialarchive_run_errors", source="wiki") == 1
    assert "socialarchive_last_success_timestamp_seconds" not in families


class _FakeArchive:
    """Stands in for ``Archive.open(...)`` and the ``Pipeline`` over it: logs as a run would, then returns
    a summary or fails."""
    run_id = "20260101T000000Z-abcdef"
    stop_requested = False

    def __init__(self, config, fail=None):
        self.config, self.fail = config, fail

    def request_stop(self):
        self.stop_requested = True

    def sync(self, source, reconcile=False, on_object=None):
        warnings.warn("a library complains", UserWarning, stacklevel=1)
        logging.getLogger("connector.pipeline").warning("quarantined %s: %s", "wiki/page/1", "bad",
                                                        extra={"key": "wiki/page/1"})
        if self.fail:
            raise self.fail
        return Summary(source=source.name, items=2, versions=5, files=1, quarantined=1, seconds=1.5,
                       outcome="quarantined")

    def close(self):
        pass


def test_json_logs_carry_run_id_source_extras_and_library_warnings(tmp_path, monkeypatch):
    from connector.archive import Archive
    from connector.cli import run
    monkeypatch.setattr(Archive, "open", classmethod(lambda cls, cfg, **kw: _FakeArchive(cfg)))
    monkeypatch.setattr(run, "Pipeline", lambda archive: archive)
    metrics = tmp_path / "socialarchive.prom"
    result = _runner().invoke(cli.main, ["sync", "--config", _config(tmp_path), "--log-format", "json",
                                         "--metrics-file", str(metrics)])
    assert result.exit_code == ExitCode.QUARANTINED, result.output
    entries = _json_lines(result.stderr)
    warning = [e for e in entries if e["logger"] == "py.warnings"]
    assert warning and "a library complains" in warning[0]["message"]
    quarantined = [e for e in entries if e["logger"] == "connector.pipeline"]
    assert quarantined[0]["key"] == "wiki/page/1"
    for entry in warning + quarantined:
        assert entry["run_id"] == _FakeArchive.run_id and entry["source"] == "wiki"
    families = _families(metrics)
    assert _value(families, "socialarchive_run_versions", source="wiki") == 5
    assert _value(families, "socialarchive_run_outcome", source="wiki", outcome="quarantined") == 1
    # a run that quarantined something is not a success (issue #17)
    assert "socialarchive_last_success_timestamp_seconds" not in families


def test_json_logs_for_usage_config_and_unexpected_errors(tmp_path, monkeypatch):
    runner = _runner()
    usage = runner.invoke(cli.main, ["sync", "--log-format", "json", "--no-such-option"])
    assert usage.exit_code == 2
    assert "--no-such-option" in _json_lines(usage.stderr)[0]["message"]
    unknown = runner.invoke(cli.main, ["--bogus"], env={"SOCIALARCHIVE_LOG_FORMAT": "json"})
    assert unknown.exit_code == 2 and _json_lines(unknown.stderr)
    in_command = runner.invoke(cli.main, ["search", "--config", _config(tmp_path), "--log-format", "json"])
    assert in_command.exit_code == 2, in_command.stderr  # a usage error raised by the command itself
    assert _json_lines(in_command.stderr)[-1]["level"] == "error"
    config = runner.invoke(cli.main, ["sync", "--config", str(tmp_path / "missing.toml"), "--log-format", "json"])
    assert config.exit_code == ExitCode.USAGE
    assert "configuration error" in _json_lines(config.stderr)[0]["message"]
    from connector.archive import Archive
    from connector.cli import run
    monkeypatch.setattr(Archive, "open",
                        classmethod(lambda cls, cfg, **kw: _FakeArchive(cfg, fail=RuntimeError("boom"))))
    monkeypatch.setattr(run, "Pipeline", lambda archive: archive)
    bug = runner.invoke(cli.main, ["sync", "--config", _config(tmp_path), "--log-format", "json"])
    assert bug.exit_code == ExitCode.ERROR
    last = _json_lines(bug.stderr)[-1]
    assert last["level"] == "error" and "RuntimeError: boom" in last["exception"]


def test_text_logs_stay_plain(tmp_path):
    result = _runner().invoke(cli.main, ["sync", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("configuration error:")


# --- metrics -----------------------------------------------------------------------------------
def test_metrics_file_is_prometheus_text(tmp_path):
    path = tmp_path / "socialarchive.prom"
    write_metrics(str(path), [
        Summary(source="wiki", items=3, versions=7, files=2, tombstones=1, quarantined=0, seconds=12.25),
        Summary(source="blog", outcome="fatal", errors=["HTTP 401 from GET /wp-json"]),
    ])
    families = _families(path)
    assert all(name.startswith("socialarchive_") for name in families)
    assert all(f.type == "gauge" and f.documentation for f in families.values())
    assert _value(families, "socialarchive_run_items", source="wiki") == 3
    assert _value(families, "socialarchive_run_versions", source="wiki") == 7
    assert _value(families, "socialarchive_run_files", source="wiki") == 2
    assert _value(families, "socialarchive_run_tombstones", source="wiki") == 1
    assert _value(families, "socialarchive_run_quarantined", source="wiki") == 0
    assert _value(families, "socialarchive_run_duration_seconds", source="wiki") == 12.25
    assert _value(families, "socialarchive_run_errors", source="blog") == 1
    assert _value(families, "socialarchive_run_outcome", source="blog", outcome="fatal") == 1
    assert _value(families, "socialarchive_run_outcome", source="blog", outcome="ok") == 0
    assert _value(families, "socialarchive_last_success_timestamp_seconds", source="wiki") > 0
    assert _value(families, "socialarchive_last_success_timestamp_seconds", source="blog") is None
    assert "socialarchive_run_bytes" not in families  # Summary does not count bytes (yet)
    assert os.stat(path).st_mode & 0o777 == 0o644     # node_exporter reads it as another user
    assert sorted(p.name for p in tmp_path.iterdir()) == ["socialarchive.prom"]  # no temp file left


def test_metrics_keep_the_last_success_of_failed_and_absent_sources(tmp_path, monkeypatch):
    from connector import metrics as metrics_mod
    path = str(tmp_path / "socialarchive.prom")
    monkeypatch.setattr(metrics_mod.time, "time", lambda: 1000.0)
    write_metrics(path, [Summary(source="wiki", versions=4), Summary(source="forum", versions=1)])
    monkeypatch.setattr(metrics_mod.time, "time", lambda: 2000.0)
    write_metrics(path, [Summary(source="wiki", outcome="unavailable", errors=["HTTP 503"])])
    families = _families(path)
    assert _value(families, "socialarchive_last_success_timestamp_seconds", source="wiki") == 1000
    assert _value(families, "socialarchive_last_run_timestamp_seconds", source="wiki") == 2000
    assert _value(families, "socialarchive_run_versions", source="wiki") == 0
    # forum was not in this run: it keeps what it had
    assert _value(families, "socialarchive_last_success_timestamp_seconds", source="forum") == 1000
    assert _value(families, "socialarchive_run_versions", source="forum") == 1
    monkeypatch.setattr(metrics_mod.time, "time", lambda: 3000.0)
    write_metrics(path, [Summary(source="wiki", outcome="quarantined", quarantined=2)])
    assert _value(_families(path), "socialarchive_last_success_timestamp_seconds", source="wiki") == 1000


def test_metrics_labels_are_escaped_and_bytes_reported_when_counted(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class WithBytes(Summary):
        bytes: int = 0

    odd = 'we"ird\\name\nx'
    path = tmp_path / "m.prom"
    path.write_text("garbage that is not ours {\n")  # an unreadable old file is not fatal
    write_metrics(str(path), [WithBytes(source=odd, bytes=123456)])
    write_metrics(str(path), [WithBytes(source=odd, outcome="fatal", errors=["x"])])
    families = _families(path)
    assert _value(families, "socialarchive_run_bytes", source=odd) == 0
    assert _value(families, "socialarchive_last_success_timestamp_seconds", source=odd) > 0
