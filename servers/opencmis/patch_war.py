#!/usr/bin/env python3
"""Adapt the unpacked OpenCMIS InMemory 1.1.0 WAR for a test server on Java 17.

- WEB-INF/classes/repository.properties: RepositoryFiller.Enable=false, so the repository starts
  empty (the shipped file fills the root with a 3-level tree of lorem-ipsum documents);
  InMemoryServer.EncryptTempFiles=false: a request body above the memory threshold (4 MiB) is
  spooled to an encrypted temp file with AES/CTR/PKCS5Padding, which Java 17 refuses, so every
  content stream larger than 4 MiB failed with HTTP 500 ("Cannot initialize encryption cipher").
- WEB-INF/web.xml: drop the SOAP servlets cmisws10/cmisws11 with their <servlet> and
  <servlet-mapping> blocks. They need JAX-WS/JAXB, which left the JDK in Java 11; with them the
  whole context answers 503. AtomPub and the Browser binding do not use them.
- with ``--types FILE``: InMemoryServer.TypeDefinitionsFile=FILE (an absolute path), so the server
  loads those type definitions at start: how a CMIS 1.0 client (no createType) gets our type, e.g.
  the file ``socialarchive docs cmis10-type`` writes. Without it the shipped value stays (a
  ``types.xml`` that does not exist: no extra types).

Usage: patch_war.py WAR_DIR [--types FILE]   (idempotent; exits non-zero if the files are not as expected)
"""
import os
import re
import sys

war = sys.argv[1]
types = sys.argv[3] if len(sys.argv) == 4 and sys.argv[2] == '--types' else None
if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and types is None):
    raise SystemExit('usage: patch_war.py WAR_DIR [--types FILE]')
if types is not None and not (os.path.isabs(types) and os.path.isfile(types)):
    raise SystemExit(f'--types {types}: not an absolute path to a file')
props = os.path.join(war, 'WEB-INF', 'classes', 'repository.properties')
webxml = os.path.join(war, 'WEB-INF', 'web.xml')

text = open(props, encoding='iso-8859-1').read()
text, n = re.subn(r'(?m)^(\s*RepositoryFiller\.Enable\s*[=:]).*$', r'\1false', text)
if n != 1:
    raise SystemExit(f'{props}: expected one RepositoryFiller.Enable line, found {n}')
text, n = re.subn(r'(?m)^(\s*InMemoryServer\.EncryptTempFiles\s*[=:]).*$', r'\1false', text)
if n == 0:
    text += '\nInMemoryServer.EncryptTempFiles=false\n'
if types is not None:
    # Java properties treat backslashes as escapes; a POSIX path needs none of them
    text, n = re.subn(r'(?m)^(\s*InMemoryServer\.TypeDefinitionsFile\s*[=:]).*$', lambda m: m.group(1) + types, text)
    if n == 0:
        text += f'\nInMemoryServer.TypeDefinitionsFile={types}\n'
open(props, 'w', encoding='iso-8859-1').write(text)

xml = open(webxml, encoding='utf-8').read()
removed = 0
for tag in ('servlet', 'servlet-mapping'):
    xml, n = re.subn(rf'[ \t]*<{tag}>\s*<servlet-name>cmisws1[01]</servlet-name>.*?</{tag}>[ \t]*\n?',
                     '', xml, flags=re.S)
    removed += n
if re.search(r'<servlet-name>cmisws1[01]</servlet-name>\s*<servlet-class>', xml):
    raise SystemExit(f'{webxml}: SOAP servlet still present')
if 'CmisBrowserBindingServlet' not in xml:
    raise SystemExit(f'{webxml}: Browser binding servlet missing')
open(webxml, 'w', encoding='utf-8').write(xml)
print(f'patched {war}: RepositoryFiller off, temp files unencrypted, {removed} SOAP blocks removed'
      + (f', type definitions from {types}' if types else ''))
