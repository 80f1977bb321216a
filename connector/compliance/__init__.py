"""Compliance: record classes and retention, sensitive-data flags, legal holds, GDPR restriction,
fixity verification, the audit trail in the repository, auditor export, procedure documentation.

One concept per module:

- ``classify``  rules (``mappings/classification.toml``) → record class → retain-until, and the
                properties every version gets (the Mapper calls it);
- ``sensitive`` detectors for e-mail, phone, IBAN (mod 97), card numbers (Luhn), custom regexes;
- ``rm``        probe of the CMIS 1.1 records-management types (``cmis:rm_*``);
- ``select``    which archived records match a query, source, date range or person;
- ``holds``     legal holds: ledger table, properties on every version, audit;
- ``subject``   GDPR: find a person's archived content, restrict its processing;
- ``segments``  the audit log filed into the repository as JSON Lines segments;
- ``verify``    fixity: content streamed back and re-hashed, audit chain, filed segments;
- ``export``    BagIt (RFC 8493) bags with an optional RFC 3161 timestamp;
- ``procedure`` the procedure documentation (Verfahrensdokumentation) from the configuration;
- ``actions``   the records manager's commands as plain functions (open, do one thing, close),
                called by the CLI (``connector/cli/records.py``).

Nothing here deletes or overwrites archived content; holds and restrictions are metadata events,
each one audited.
"""
