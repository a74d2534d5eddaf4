#!/usr/bin/env python3
"""Fails when a link of the README or docs/ leads nowhere: every relative Markdown link must name a
file of the repository and, with a #fragment, a heading of it (GitHub's anchor rules); every
'docs/<name>.md' mentioned in the code, scripts or deployment files must exist."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def anchors(path):
    found, code = set(), False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            code = not code
        m = None if code else re.match(r'^#{1,6}\s+(.*)', line)
        if m:
            text = re.sub(r'[`*_\[\]()]', '', m.group(1)).strip().lower()
            slug = re.sub(r'[^\w\- ]', '', text).replace(' ', '-')
            found.add(slug)
    return found


def main():
    errors = []
    pages = ['README.md'] + sorted('docs/' + f for f in os.listdir(os.path.join(ROOT, 'docs')) if f.endswith('.md'))
    for page in pages:
        here = os.path.dirname(os.path.join(ROOT, page))
        text = open(os.path.join(ROOT, page), encoding='utf-8').read()
        text = re.sub(r'```.*?```', '', text, flags=re.S)
        for target in LINK.findall(text):
            if re.match(r'^[a-z]+://', target) or target.startswith('mailto:'):
                continue
            path, _, frag = target.partition('#')
            full = os.path.normpath(os.path.join(here, path)) if path else os.path.join(ROOT, page)
            if not os.path.exists(full):
                errors.append(f'{page}: link to {target}: no such file')
            elif frag and full.endswith('.md') and frag not in anchors(full):
                errors.append(f'{page}: link to {target}: no such heading')
    tracked = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in tracked:
        if f.endswith('.md') or not os.path.isfile(os.path.join(ROOT, f)) or f.startswith('scripts/check-links'):
            continue
        try:
            text = open(os.path.join(ROOT, f), encoding='utf-8').read()
        except UnicodeDecodeError:
            continue
        for ref in set(re.findall(r'docs/[\w.-]+\.md', text)):
            if not os.path.exists(os.path.join(ROOT, ref)):
                errors.append(f'{f}: mentions {ref}: no such file')
    for e in errors:
        print('check-links: ' + e, file=sys.stderr)
    print(f'check-links: {len(pages)} pages, {"FAILED" if errors else "every link resolves"}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
