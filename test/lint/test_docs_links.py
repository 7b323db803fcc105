"""Every relative link in README.md and docs/*.md resolves, and README.md stays short."""

import glob
import os
import re

import pytest
from support import REPO

README_MAX_BYTES = 12288

FENCE = re.compile(r'^\s*(```|~~~)')
HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
INLINE_CODE = re.compile(r'(`+)(.+?)\1')
INLINE_LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE_LINK = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$')
SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:|^//')


def doc_files(root=REPO):
    """Return README.md and every markdown file under docs/."""
    docs = sorted(glob.glob(os.path.join(root, 'docs', '**', '*.md'), recursive=True))
    return [os.path.join(root, 'README.md')] + docs


def prose_lines(text):
    """Yield (line number, line) outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if match:
            if fence is None:
                fence = match.group(1)
            elif match.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield number, line


def slug(heading):
    """Return GitHub's anchor for a heading's text (before de-duplication)."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = INLINE_LINK.sub(lambda m: m.group(1), text)
    text = re.sub(r'[^\w\- ]', '', text.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    """Return the anchors of every heading of a markdown file, numbered as GitHub numbers them."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    seen = {}
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f'{base}-{count}')
    return found


def link_targets(text):
    """Yield (line number, target) of every link outside code, inline or reference style."""
    for number, line in prose_lines(text):
        reference = REFERENCE_LINK.match(line)
        if reference:
            yield number, reference.group(1)
            continue
        for match in INLINE_LINK.finditer(INLINE_CODE.sub('', line)):
            yield number, match.group(2)


def broken_links(path, root=REPO):
    """Return 'file:line: target: reason' for every relative link of path that does not resolve."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    root = os.path.realpath(root)
    problems = []
    for number, target in link_targets(text):
        if not target or SCHEME.match(target):
            continue
        where = f'{os.path.relpath(path, root)}:{number}: {target}'
        file_part, _, anchor = target.partition('#')
        resolved = os.path.realpath(
            os.path.join(os.path.dirname(path), file_part) if file_part else path)
        if os.path.commonpath([root, resolved]) != root:
            problems.append(f'{where}: points outside the repository')
        elif not os.path.exists(resolved):
            problems.append(f'{where}: no such file')
        elif anchor and not resolved.endswith('.md'):
            problems.append(f'{where}: anchors can only be checked in markdown files')
        elif anchor and anchor not in anchors(resolved):
            problems.append(f'{where}: no heading with this anchor')
    return problems


def test_readme_is_short():
    size = os.path.getsize(os.path.join(REPO, 'README.md'))
    assert size <= README_MAX_BYTES, (
        f'README.md is {size} bytes (at most {README_MAX_BYTES}): move detail into docs/')


def test_docs_are_found():
    names = [os.path.relpath(p, REPO) for p in doc_files()]
    assert names[0] == 'README.md' and len(names) > 1, names


@pytest.mark.parametrize('path', doc_files(), ids=lambda p: os.path.relpath(p, REPO))
def test_links_resolve(path):
    problems = broken_links(path)
    assert not problems, 'broken links:\n' + '\n'.join(problems)


def test_slug_follows_github():
    assert slug('Hardware node (`hardware_node`, node name `hardware`)') == \
        'hardware-node-hardware_node-node-name-hardware'
    assert slug('Platform profiles (`config/platforms/*.yaml`)') == \
        'platform-profiles-configplatformsyaml'
    assert slug('On a robot (ROS 2 Jazzy or Humble from apt, e.g. a Jetson)') == \
        'on-a-robot-ros-2-jazzy-or-humble-from-apt-eg-a-jetson'
    assert slug('[Tools](tools.md) and more') == 'tools-and-more'


def test_checker_reports_each_kind_of_broken_link(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'other.md').write_text(
        '# Other page\n\n## Same\n\n## Same\n\n```\n# not a heading\n```\n')
    (tmp_path / 'data.yaml').write_text('a: 1\n')
    page = tmp_path / 'docs' / 'page.md'
    page.write_text('\n'.join([
        '# Page',
        '[fine](other.md) [fine](other.md#other-page) [fine](#page) [fine](other.md#same-1)',
        '[fine](../data.yaml) [web](https://example.org/x.md) [mail](mailto:a@b.c)',
        '[missing file](nowhere.md)',
        '[missing anchor](other.md#no-such-heading)',
        '[code heading](other.md#not-a-heading)',
        '[same file](#nothing-here)',
        '[outside](../../outside.md)',
        '[anchor in yaml](../data.yaml#a)',
        '[ref]: gone.md',
        '`[in code](ignored.md)`',
        '```',
        '[in a fence](ignored.md)',
        '```',
    ]) + '\n')
    problems = broken_links(str(page), root=str(tmp_path))
    targets = [p.split(': ')[1] for p in problems]
    assert targets == ['nowhere.md', 'other.md#no-such-heading', 'other.md#not-a-heading',
                       '#nothing-here', '../../outside.md', '../data.yaml#a', 'gone.md']
    assert all(p.startswith('docs/page.md:') for p in problems), problems
