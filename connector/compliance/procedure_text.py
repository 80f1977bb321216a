"""The wording of the procedure documentation (``connector.compliance.procedure``), one catalogue
per language: the generator holds the structure and the facts of the deployment, this module
only the sentences, so an English and a German edition say the same thing in one language each.

Every catalogue has the same keys (a test compares them); values are ``str.format`` templates.
Example::

    TEXT["de"]["h_schedule"]   # '## 9. Zeitplan und Laufsperre'
"""
from __future__ import annotations

EN = {
    "title": "# Procedure documentation: archiving wikis, blogs and forums (socialarchive)",
    "generated": "Generated {when} by socialarchive {version} from the configuration below. Regenerate it after "
                 "every change of configuration, mapping or rules, and keep every edition.",
    "docs_head": ["document", "path", "SHA-256"],
    "doc_config": "configuration", "doc_mapping": "mapping rules", "doc_classes": "classification rules",
    "doc_all": "all three (the config digest of every run, audit entry 'run')",
    "shipped": " (shipped default)",
    "h_purpose": "## 1. Purpose and principles",
    "purpose": "The connector copies the content of the systems listed in section 2 (every revision, comment, "
               "reply, file, author, timestamp and permission) into the CMIS repository of section 3. It archives, "
               "it does not synchronise: nothing archived is ever overwritten or deleted by it. An edit in a source "
               "becomes a new version; a deletion becomes a deletion record (tombstone). Legal holds and processing "
               "restrictions are added as metadata events; content is never changed. The repository's own retention "
               "and WORM functions, not the connector, make the archive tamper-proof; the connector supplies "
               "completeness, integrity evidence (SHA-256 per version, hash-chained audit log) and the audit trail.",
    "h_sources": "## 2. Sources and scope",
    "sources_head": ["source", "system", "address (without credentials)", "account", "further options"],
    "no_sources": "No source is configured.",
    "sources_note": "Each source is read through its API as the configured account sees it. What that account cannot "
                    "read is not archived: its permissions define the scope as much as the options above. Secrets "
                    "are never in the configuration file (only the environment variable or file that holds them).",
    "h_repository": "## 3. Repository and storage",
    "setting_head": ["setting", "value"],
    "repo_url": "CMIS endpoint (Browser binding)", "repo_id": "repository id", "repo_profile": "repository profile",
    "repo_base": "base folder (every archived object lies below it)", "repo_user": "account of the connector",
    "repo_types": "document type / metadata type", "repo_create": "types created by the connector",
    "create_yes": "yes (createType)", "create_no": "no: the content model must be deployed (docker/alfresco)",
    "repo_rm": "CMIS records-management types",
    "rm_auto": "used where the repository defines them (probed at every run)", "rm_on": "always used",
    "rm_off": "not used",
    "repo_ledger": "ledger (local state)", "repo_audit": "audit log",
    "h_mapping": "## 4. Mapping: folders, names, properties",
    "mapping_file": "Mapping rules in use: `{path}`.",
    "default_folder": "- Default folder: `{folder}` below the base folder `{base}`; per kind:",
    "names": "- Name: `Title [native id]` plus an extension by media type ({extensions}); forbidden characters "
             "become `_`; the original title is kept in `sa:title`.",
    "none": "none",
    "versions": "- One document per source item, one version per source revision, oldest first, holding the original "
                "markup or file byte-exact. Audit-log segments are filed under `{base}/_audit/<year>`.",
    "mapped": "Mapped properties:",
    "item_head": ["property", "from item field"], "revision_head": ["property", "from revision field"],
    "all_props": "All metadata properties (secondary type `{type}`):",
    "props_head": ["property", "type", "meaning"], "multi": " (multi)",
    "h_permissions": "## 5. Permissions",
    "permissions": "Permissions fail closed. Every document gets the archive admins with full control; content the "
                   "source shows to anonymous users gets the public readers with read access; everything else gets "
                   "the restricted readers plus the principals mapped explicitly below. An unmapped source principal "
                   "adds nobody. The repository's default world ACE is always removed.",
    "roles_head": ["role", "principals"], "role_admins": "archive admins (cmis:all)",
    "role_restricted": "restricted readers (cmis:read)", "role_public": "public readers (cmis:read)",
    "anyone": "the repository's `anyone`",
    "principals_head": ["source principal", "repository principal"],
    "no_principals": "No source principal is mapped: restricted content is readable by admins and restricted readers only.",
    "h_retention": "## 6. Record classes and retention",
    "retention": "Classification rules in use: `{path}`. Every version gets `sa:recordClass`, `sa:classRule` and "
                 "`sa:retainUntil` = 31 December (23:59:59, time zone {zone}) of the year the version was created + "
                 "the class's years; the period starts at the end of that calendar year. Where the repository defines "
                 "`cmis:rm_clientMgtRetention`, `cmis:rm_expirationDate` and `cmis:rm_startOfRetention` are set as "
                 "well and the repository enforces them. The connector never deletes anything when a period ends: "
                 "disposition is decided in the repository, after checking that no tax assessment period is still "
                 "open (§147(3) AO) and that no legal hold applies.",
    "classes_head": ["class", "years", "preset", "description"], "custom": "custom",
    "rules": "Rules, first match wins:",
    "rules_head": ["#", "rule", "conditions", "class"],
    "default_class": "A version matching no rule gets the default class **{name}** with `sa:classRule = 'default'`, "
                     "and the source is logged; review them with `SELECT * FROM {type} WHERE sa:classRule = 'default'`.",
    "h_sensitive": "### Sensitive data",
    "sensitive": "The text of every version (markup and JSON; first {bytes} bytes) is scanned by: {names}. IBANs are "
                 "checked against ISO 13616 (length and mod 97), card numbers by issuer prefix and Luhn digit. Matches "
                 "are recorded by detector name in `sa:sensitive` (never the value).",
    "no_detector": "no detector",
    "restricts": "A match of {names} restricts the whole record to admins and restricted readers.",
    "flags_only": "Matches are flagged only; the ACL is not changed.",
    "h_holds": "## 7. Legal holds and data subjects",
    "holds": "- `socialarchive hold add MATTER (--query WORDS | --source S [--since D] [--until D])` puts the matter's "
             "id into `sa:holdIds` (and `cmis:rm_holdIds` where supported) of every version of the matching records; "
             "new versions and newly filed matching records get it too. `hold remove MATTER --reason WHY` releases it; "
             "`hold list` shows all holds. Each step is audited with the operating-system user (and the reason).",
    "subjects": "- `socialarchive subject find USER` lists what a person created or revised; `subject restrict USER` "
                "restricts its processing (GDPR Art. 18, BDSG §35(3)) while retention runs: `sa:restricted = true` on "
                "every version, the ACL narrowed to admins and restricted readers, and later content of the person "
                "restricted too. Nothing is erased by the connector.",
    "holds_now": "Holds recorded in the ledger of this deployment:",
    "holds_head": ["matter", "placed", "by", "criteria", "released"], "holds_active": "in force",
    "no_holds": "The ledger of this deployment records no legal hold.",
    "restrictions_now": "Data subjects under restriction: {count}.",
    "h_integrity": "## 8. Integrity and audit trail",
    "integrity": "- The SHA-256 of every content stream is computed while it is uploaded and sent in the same request; "
                 "the repository's echo of hash and length is compared before the ledger records the version. A "
                 "source's own digest (where its API gives one, such as a wiki file's SHA-1) is checked on the way; a "
                 "mismatch quarantines the item.",
    "audit": "- Every write, hold, restriction, verification and export is an entry of the append-only audit log "
             "(`{path}`); each entry carries the SHA-256 of the previous one, so an edited, removed or reordered "
             "entry breaks the chain.",
    "audit_filed": "- After every `sync`, the audit entries not yet filed are filed into the repository as a JSON Lines "
                   "document under `{base}/_audit/<year>` (also `socialarchive audit file`).",
    "audit_manual": "- Audit entries are filed into the repository by `socialarchive audit file` only "
                    "(`file_audit_log = false`).",
    "h_schedule": "## 9. Schedule and run lock",
    "schedule_declared": "The configuration declares how often `socialarchive sync` runs (`sync_every_minutes`):",
    "schedule_source": "- {source}: every {minutes} minutes",
    "schedule_unknown": "The configuration does not say how often `socialarchive sync` runs: the scheduler (cron, "
                        "systemd timer, Kubernetes CronJob) is outside it. Record it here, and declare it with "
                        "`sync_every_minutes` in each source's table (the change sweep assumes 15 minutes otherwise). "
                        "The interval must stay well inside each source's change-feed horizon (a wiki's recent "
                        "changes: 90 days by default).",
    "schedule_observed": "Observed in the ledger: {source} synced {count} times, at a median interval of {interval} "
                         "(last start {last}).",
    "checkpoint": "A source's checkpoint advances only after a complete run, so a missed or failed run is caught up by "
                  "the next one.",
    "lock": "Run lock: {commands} take an exclusive lock on `{path}` before they contact the repository. A second "
            "such command on the same ledger while one runs does not wait: it stops at once with the message "
            "\"another socialarchive run holds {path}; not starting a second one\" and exit code 6, and writes "
            "nothing. The scheduler's next run does the work. The lock belongs to the running process and the "
            "operating system releases it however the process ends (also `kill -9` or a crash), so no stale lock "
            "remains: the lock file itself stays and must not be deleted. {free} take no lock and run alongside.",
    "h_verify": "## 10. Verification",
    "verify": "`socialarchive verify [--source S] [--sample N] [--json]` streams every version (or N random versions) "
              "back from the repository, recomputes its SHA-256 and compares it with the `sa:sha256` property and "
              "with the ledger; checks the audit log's chain; compares every audit segment filed in the repository "
              "with the local log. Any mismatch is reported and the command exits with code 7. Recommended: a full "
              "check monthly, a sample after every run. Each check is itself an audit entry.",
    "h_export": "## 11. Export for auditors (Datenzugriff Z3)",
    "export": "`socialarchive export (--matter M | --source S --since D --until D) --out DIR` writes a BagIt bag "
              "(RFC 8493): the original content of every version, per-record metadata JSON (all properties, ACL, "
              "folders), an index (CSV) and the audit-log entries about the exported records.",
    "tsa": "The tag manifest is timestamped (RFC 3161) by `{url}`; the token is stored as "
           "`tagmanifest-sha256.txt.tsr` and verifies with `openssl ts -verify`.",
    "no_tsa": "No timestamp authority is configured (`[compliance] tsa_url`): bags are not timestamped.",
    "h_software": "## 12. Software",
    "software_head": ["component", "version"], "not_installed": "not installed", "not_found": "not found",
    "os": "operating system",
    "h_runs": "## 13. Recent runs",
    "runs_head": ["run", "command", "started", "finished", "outcome"],
    "and": "and",
}

DE = {
    "title": "# Verfahrensdokumentation: Archivierung von Wikis, Blogs und Foren (socialarchive)",
    "generated": "Erzeugt am {when} von socialarchive {version} aus der unten genannten Konfiguration. Nach jeder "
                 "Änderung der Konfiguration, der Zuordnungs- oder Klassifikationsregeln neu erzeugen und jede "
                 "Fassung aufbewahren.",
    "docs_head": ["Dokument", "Pfad", "SHA-256"],
    "doc_config": "Konfiguration", "doc_mapping": "Zuordnungsregeln", "doc_classes": "Klassifikationsregeln",
    "doc_all": "alle drei (Konfigurationsprüfsumme jedes Laufs, Protokolleintrag „run“)",
    "shipped": " (mitgelieferte Vorgabe)",
    "h_purpose": "## 1. Zweck und Grundsätze",
    "purpose": "Der Konnektor kopiert die Inhalte der in Abschnitt 2 genannten Systeme (jede Revision, jeden "
               "Kommentar, jede Antwort, Datei, Autorenangabe, jeden Zeitstempel und jede Berechtigung) in das "
               "CMIS-Repository aus Abschnitt 3. Er archiviert, er synchronisiert nicht: Archiviertes wird von ihm "
               "nie überschrieben oder gelöscht. Eine Änderung in einer Quelle wird eine neue Version, eine Löschung "
               "ein Löschnachweis (Tombstone). Rechtliche Sperren (Legal Holds) und Verarbeitungseinschränkungen "
               "werden als Metadaten ergänzt; Inhalte werden nie verändert. Die Unveränderbarkeit sichern die "
               "Aufbewahrungs- und WORM-Funktionen des Repositorys, nicht der Konnektor; dieser sorgt für "
               "Vollständigkeit, Integritätsnachweise (SHA-256 je Version, verkettetes Prüfprotokoll) und die "
               "Protokollierung.",
    "h_sources": "## 2. Quellen und Umfang",
    "sources_head": ["Quelle", "System", "Adresse (ohne Zugangsdaten)", "Konto", "weitere Einstellungen"],
    "no_sources": "Es ist keine Quelle konfiguriert.",
    "sources_note": "Jede Quelle wird über ihre Schnittstelle so gelesen, wie das konfigurierte Konto sie sieht. Was "
                    "dieses Konto nicht lesen darf, wird nicht archiviert: Seine Berechtigungen bestimmen den Umfang "
                    "ebenso wie die obigen Einstellungen. Geheimnisse stehen nie in der Konfigurationsdatei (nur die "
                    "Umgebungsvariable oder Datei, die sie enthält).",
    "h_repository": "## 3. Repository und Ablage",
    "setting_head": ["Einstellung", "Wert"],
    "repo_url": "CMIS-Endpunkt (Browser Binding)", "repo_id": "Repository-ID", "repo_profile": "Repository-Profil",
    "repo_base": "Basisordner (alle archivierten Objekte liegen darunter)", "repo_user": "Konto des Konnektors",
    "repo_types": "Dokumenttyp / Metadatentyp", "repo_create": "Typen vom Konnektor angelegt",
    "create_yes": "ja (createType)", "create_no": "nein: das Inhaltsmodell muss eingespielt sein (docker/alfresco)",
    "repo_rm": "CMIS-Records-Management-Typen",
    "rm_auto": "genutzt, wo das Repository sie kennt (bei jedem Lauf geprüft)", "rm_on": "immer genutzt",
    "rm_off": "nicht genutzt",
    "repo_ledger": "Ledger (lokaler Zustand)", "repo_audit": "Prüfprotokoll",
    "h_mapping": "## 4. Zuordnung: Ordner, Namen, Eigenschaften",
    "mapping_file": "Verwendete Zuordnungsregeln: `{path}`.",
    "default_folder": "- Standardordner: `{folder}` unterhalb des Basisordners `{base}`; je Art:",
    "names": "- Name: `Titel [native ID]` mit einer Endung nach Medientyp ({extensions}); unzulässige Zeichen werden "
             "zu `_`; der ursprüngliche Titel bleibt in `sa:title` erhalten.",
    "none": "keine",
    "versions": "- Ein Dokument je Objekt der Quelle, eine Version je Revision, die älteste zuerst, mit dem "
                "ursprünglichen Markup oder der Datei bitgenau. Abschnitte des Prüfprotokolls liegen unter "
                "`{base}/_audit/<Jahr>`.",
    "mapped": "Zugeordnete Eigenschaften:",
    "item_head": ["Eigenschaft", "aus Feld des Objekts"], "revision_head": ["Eigenschaft", "aus Feld der Revision"],
    "all_props": "Alle Metadaten (sekundärer Typ `{type}`):",
    "props_head": ["Eigenschaft", "Typ", "Bedeutung"], "multi": " (mehrwertig)",
    "h_permissions": "## 5. Berechtigungen",
    "permissions": "Berechtigungen schließen im Zweifel aus. Jedes Dokument erhält die Archiv-Administratoren mit "
                   "vollem Zugriff; Inhalte, die die Quelle anonymen Besuchern zeigt, erhalten die öffentlichen Leser "
                   "mit Leserecht; alles andere erhalten die berechtigten Leser und die unten ausdrücklich zugeordneten "
                   "Principals. Ein nicht zugeordneter Principal der Quelle berechtigt niemanden. Der vorgegebene "
                   "Eintrag des Repositorys für alle Benutzer wird stets entfernt.",
    "roles_head": ["Rolle", "Principals"], "role_admins": "Archiv-Administratoren (cmis:all)",
    "role_restricted": "berechtigte Leser (cmis:read)", "role_public": "öffentliche Leser (cmis:read)",
    "anyone": "`anyone` des Repositorys",
    "principals_head": ["Principal der Quelle", "Principal im Repository"],
    "no_principals": "Kein Principal der Quelle ist zugeordnet: eingeschränkte Inhalte lesen nur Administratoren und "
                     "berechtigte Leser.",
    "h_retention": "## 6. Aktenklassen und Aufbewahrung",
    "retention": "Verwendete Klassifikationsregeln: `{path}`. Jede Version erhält `sa:recordClass`, `sa:classRule` und "
                 "`sa:retainUntil` = 31. Dezember (23:59:59, Zeitzone {zone}) des Jahres, in dem die Version entstand, "
                 "zuzüglich der Jahre der Klasse; die Frist beginnt mit dem Schluss dieses Kalenderjahres. Kennt das "
                 "Repository `cmis:rm_clientMgtRetention`, werden auch `cmis:rm_expirationDate` und "
                 "`cmis:rm_startOfRetention` gesetzt und vom Repository durchgesetzt. Der Konnektor löscht nach "
                 "Fristablauf nichts: Über die Vernichtung wird im Repository entschieden, nachdem geprüft ist, dass "
                 "keine Festsetzungsfrist mehr läuft (§147 Abs. 3 AO) und keine rechtliche Sperre besteht.",
    "classes_head": ["Klasse", "Jahre", "Vorgabe", "Beschreibung"], "custom": "eigene",
    "rules": "Regeln, die erste zutreffende gilt:",
    "rules_head": ["#", "Regel", "Bedingungen", "Klasse"],
    "default_class": "Eine Version, auf die keine Regel zutrifft, erhält die Standardklasse **{name}** mit "
                     "`sa:classRule = 'default'`, und die Quelle wird protokolliert; prüfen mit "
                     "`SELECT * FROM {type} WHERE sa:classRule = 'default'`.",
    "h_sensitive": "### Schutzbedürftige Daten",
    "sensitive": "Der Text jeder Version (Markup und JSON; die ersten {bytes} Bytes) wird durchsucht mit: {names}. "
                 "IBANs werden nach ISO 13616 geprüft (Länge und Modulo 97), Kartennummern nach Herausgeberpräfix und "
                 "Luhn-Prüfziffer. Treffer werden mit dem Namen des Suchmusters in `sa:sensitive` vermerkt (nie der "
                 "Wert).",
    "no_detector": "keinem Suchmuster",
    "restricts": "Ein Treffer von {names} beschränkt den ganzen Datensatz auf Administratoren und berechtigte Leser.",
    "flags_only": "Treffer werden nur vermerkt; die Berechtigungen bleiben unverändert.",
    "h_holds": "## 7. Rechtliche Sperren und betroffene Personen",
    "holds": "- `socialarchive hold add VERFAHREN (--query WÖRTER | --source Q [--since D] [--until D])` trägt die "
             "Kennung des Verfahrens in `sa:holdIds` (und `cmis:rm_holdIds`, wo unterstützt) jeder Version der "
             "gefundenen Datensätze ein; neue Versionen und neu abgelegte passende Datensätze erhalten sie ebenso. "
             "`hold remove VERFAHREN --reason GRUND` hebt die Sperre auf; `hold list` zeigt alle Sperren. Jeder Schritt "
             "wird mit dem Betriebssystembenutzer (und dem Grund) protokolliert.",
    "subjects": "- `socialarchive subject find BENUTZER` listet, was eine Person angelegt oder bearbeitet hat; "
                "`subject restrict BENUTZER` schränkt die Verarbeitung ein (Art. 18 DSGVO, §35 Abs. 3 BDSG), "
                "solange die Aufbewahrung läuft: `sa:restricted = true` an jeder Version, Berechtigungen auf "
                "Administratoren und berechtigte Leser verengt, spätere Inhalte der Person ebenso. Der Konnektor "
                "löscht nichts.",
    "holds_now": "Im Ledger dieser Installation verzeichnete Sperren:",
    "holds_head": ["Verfahren", "gesetzt", "von", "Kriterien", "aufgehoben"], "holds_active": "in Kraft",
    "no_holds": "Das Ledger dieser Installation verzeichnet keine rechtliche Sperre.",
    "restrictions_now": "Betroffene Personen mit eingeschränkter Verarbeitung: {count}.",
    "h_integrity": "## 8. Integrität und Prüfprotokoll",
    "integrity": "- Die SHA-256-Prüfsumme jedes Inhalts wird während des Hochladens berechnet und in derselben Anfrage "
                 "mitgesendet; die vom Repository zurückgemeldete Prüfsumme und Länge wird verglichen, bevor das "
                 "Ledger die Version verbucht. Die eigene Prüfsumme einer Quelle (wo ihre Schnittstelle eine nennt, "
                 "etwa die SHA-1 einer Wiki-Datei) wird unterwegs "
                 "geprüft; bei Abweichung kommt das Objekt in Quarantäne.",
    "audit": "- Jede Ablage, Sperre, Einschränkung, Prüfung und jeder Export ist ein Eintrag im nur fortschreibbaren "
             "Prüfprotokoll (`{path}`); jeder Eintrag enthält die SHA-256-Prüfsumme des vorigen, sodass ein "
             "geänderter, entfernter oder umgestellter Eintrag die Kette bricht.",
    "audit_filed": "- Nach jedem `sync` werden die noch nicht abgelegten Protokolleinträge als JSON-Lines-Dokument "
                   "unter `{base}/_audit/<Jahr>` im Repository abgelegt (auch mit `socialarchive audit file`).",
    "audit_manual": "- Protokolleinträge werden nur mit `socialarchive audit file` im Repository abgelegt "
                    "(`file_audit_log = false`).",
    "h_schedule": "## 9. Zeitplan und Laufsperre",
    "schedule_declared": "Die Konfiguration nennt, wie oft `socialarchive sync` läuft (`sync_every_minutes`):",
    "schedule_source": "- {source}: alle {minutes} Minuten",
    "schedule_unknown": "Die Konfiguration nennt nicht, wie oft `socialarchive sync` läuft: Der Zeitgeber (cron, "
                        "systemd-Timer, Kubernetes-CronJob) liegt außerhalb. Hier eintragen und mit "
                        "`sync_every_minutes` in der Tabelle jeder Quelle angeben (sonst nimmt der Änderungsabgleich "
                        "15 Minuten an). Der Abstand muss deutlich innerhalb des Zeitraums bleiben, den der "
                        "Änderungsverlauf einer Quelle zurückreicht (letzte Änderungen eines Wikis: standardmäßig 90 Tage).",
    "schedule_observed": "Im Ledger beobachtet: {source} wurde {count}-mal abgeglichen, im Median alle {interval} "
                         "(letzter Start {last}).",
    "checkpoint": "Der Stand einer Quelle rückt erst nach einem vollständigen Lauf vor; ein ausgefallener oder "
                  "fehlgeschlagener Lauf wird vom nächsten nachgeholt.",
    "lock": "Laufsperre: {commands} sperren `{path}` exklusiv, bevor sie das Repository ansprechen. Ein zweiter "
            "solcher Befehl auf demselben Ledger wartet nicht, solange einer läuft: Er bricht sofort mit der Meldung "
            "\"another socialarchive run holds {path}; not starting a second one\" und Exit-Code 6 ab und schreibt "
            "nichts. Der nächste geplante Lauf erledigt die Arbeit. Die Sperre gehört dem laufenden Prozess; das "
            "Betriebssystem gibt sie frei, wie immer der Prozess endet (auch bei `kill -9` oder Absturz), daher "
            "bleibt keine verwaiste Sperre zurück: Die Sperrdatei selbst bleibt bestehen und darf nicht gelöscht "
            "werden. {free} sperren nicht und laufen daneben.",
    "h_verify": "## 10. Prüfung",
    "verify": "`socialarchive verify [--source Q] [--sample N] [--json]` liest jede Version (oder N zufällige) aus dem "
              "Repository zurück, berechnet ihre SHA-256-Prüfsumme neu und vergleicht sie mit der Eigenschaft "
              "`sa:sha256` und mit dem Ledger; prüft die Kette des Prüfprotokolls; vergleicht jeden im Repository "
              "abgelegten Protokollabschnitt mit dem lokalen Protokoll. Jede Abweichung wird gemeldet, der Befehl "
              "endet mit Exit-Code 7. Empfohlen: monatlich vollständig, nach jedem Lauf eine Stichprobe. Jede Prüfung "
              "ist selbst ein Protokolleintrag.",
    "h_export": "## 11. Export für Prüfer (Datenzugriff Z3)",
    "export": "`socialarchive export (--matter M | --source Q --since D --until D) --out VERZ` schreibt ein "
              "BagIt-Paket (RFC 8493): den ursprünglichen Inhalt jeder Version, Metadaten je Datensatz als JSON (alle "
              "Eigenschaften, Berechtigungen, Ordner), ein Verzeichnis (CSV) und die Protokolleinträge zu den "
              "exportierten Datensätzen.",
    "tsa": "Das Tag-Manifest erhält einen Zeitstempel (RFC 3161) von `{url}`; das Token liegt als "
           "`tagmanifest-sha256.txt.tsr` bei und lässt sich mit `openssl ts -verify` prüfen.",
    "no_tsa": "Es ist kein Zeitstempeldienst konfiguriert (`[compliance] tsa_url`): Pakete erhalten keinen Zeitstempel.",
    "h_software": "## 12. Programmversionen",
    "software_head": ["Komponente", "Version"], "not_installed": "nicht installiert", "not_found": "nicht gefunden",
    "os": "Betriebssystem",
    "h_runs": "## 13. Letzte Läufe",
    "runs_head": ["Lauf", "Befehl", "Beginn", "Ende", "Ergebnis"],
    "and": "und",
}

# The metadata properties' meanings in German (connector.cmis.schema holds the English ones).
PROPERTIES_DE = {
    "sa:sourceSystem": "System der Quelle: der type ihrer Tabelle [sources.NAME]",
    "sa:source": "Name der Quelle in der Konfiguration",
    "sa:kind": "page, file, post, comment, media, thread, tombstone …",
    "sa:nativeId": "Kennung des Objekts in der Quelle",
    "sa:revisionId": "Revision der Quelle, die diese Version enthält",
    "sa:sourceUrl": "Adresse des Objekts in der Quelle",
    "sa:title": "ursprünglicher Titel, unverändert",
    "sa:author": "wer das Objekt angelegt hat",
    "sa:revisionAuthor": "wer diese Revision erstellt hat",
    "sa:revisionComment": "Bearbeitungskommentar dieser Revision",
    "sa:created": "Anlagezeitpunkt in der Quelle",
    "sa:modified": "Änderungszeitpunkt in der Quelle",
    "sa:revisionCreated": "Zeitpunkt dieser Revision in der Quelle",
    "sa:space": "Namensraum, Kategorie, Blogbereich",
    "sa:parentId": "Datensatzschlüssel des übergeordneten Objekts (Thema, Beitrag, Seite)",
    "sa:tags": "Kategorien und Schlagwörter",
    "sa:visibility": "öffentlich oder eingeschränkt, wie in der Quelle",
    "sa:visibilityReason": "warum das Objekt eingeschränkt ist",
    "sa:readers": "Principals der Quelle mit Leserecht",
    "sa:sha256": "SHA-256-Prüfsumme des Inhalts dieser Version",
    "sa:contentLength": "Bytes im Inhalt dieser Version",
    "sa:sourceDigest": "eigene Prüfsumme der Quelle, Algorithmus:hex",
    "sa:mediaType": "Medientyp des ursprünglichen Markups oder der Datei",
    "sa:capturedAt": "wann der Konnektor es gelesen hat",
    "sa:runId": "Lauf des Konnektors, der diese Version abgelegt hat",
    "sa:connectorVersion": "Version des Konnektors",
    "sa:sourceRecord": "ursprünglicher Datensatz der Quelle (JSON) zu dieser Revision",
    "sa:extra": "weitere Felder der Quelle, JSON",
    "sa:deletedAt": "Löschnachweise: wann die Quelle es gelöscht hat",
    "sa:recordClass": "Aktenklasse (Klassifikationsregeln)",
    "sa:retainUntil": "Ende der Aufbewahrungsfrist",
    "sa:holdIds": "rechtliche Sperren auf diesem Datensatz",
    "sa:classRule": "Regel, die die Aktenklasse ergab, oder 'default'",
    "sa:sensitive": "Suchmuster für schutzbedürftige Daten, die in dieser Version trafen",
    "sa:restricted": "Verarbeitung eingeschränkt (Art. 18 DSGVO), solange die Aufbewahrung läuft",
}

TEXT = {"en": EN, "de": DE}
