"""Step 1: the corpus. Extracts the King James Bible from Debian's `bible-kjv` reader into plain text.

Output (in the work folder):
  train.txt, val.txt   one chapter per line: its verses joined by single spaces, verse numbers removed.
                       The model learns the Bible as continuous prose (no verse numbers, no line breaks inside a
                       chapter), and each chapter becomes one document: <s> chapter text </s>.
  Validation holds out the last books of the canon (Hebrews to Revelation, about 4% of the verses), so the held-out
  perplexity measures text the model never saw.

The `bible` reader prints, per chapter, a heading line ("Genesis 1"), a blank line, the verses as
"  <number> <text>" and a blank line. We keep only the verse lines and strip the number prefix.
"""
import argparse
import os
import re
import subprocess

HELD_OUT_BOOKS = ['Hebrews', 'James', '1 Peter', '2 Peter', '1 John', '2 John', '3 John', 'Jude', 'Revelation']
EXPECTED_VERSES = 31102

HEADING = re.compile(r'^(?P<book>(?:[123] )?[A-Z][A-Za-z ]*?) (?P<chapter>\d+)$')
VERSE = re.compile(r'^\s+(?P<number>\d+) (?P<text>.+)$')


def read_kjv():
    """Returns [(book, chapter, [verse texts])] in canonical order."""
    out = subprocess.run(['bible', '-l100000', 'Gen1:1-Rev22:21'], check=True, capture_output=True, text=True)
    chapters = []
    for line in out.stdout.splitlines():
        if not line.strip():
            continue
        verse = VERSE.match(line)
        if verse:
            if not chapters:
                raise SystemExit(f'verse before any chapter heading: {line!r}')
            expected = len(chapters[-1][2]) + 1
            if int(verse['number']) != expected:
                raise SystemExit(f'{chapters[-1][0]} {chapters[-1][1]}: verse {verse["number"]}, expected {expected}')
            chapters[-1][2].append(' '.join(verse['text'].split()))
            continue
        heading = HEADING.match(line)
        if not heading:
            raise SystemExit(f'unexpected line from bible: {line!r}')
        chapters.append((heading['book'], int(heading['chapter']), []))
    n_verses = sum(len(c[2]) for c in chapters)
    if n_verses != EXPECTED_VERSES:
        raise SystemExit(f'read {n_verses} verses, expected {EXPECTED_VERSES}')
    return chapters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work', default=os.path.join(os.path.dirname(__file__), 'work'))
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    chapters = read_kjv()
    train, val = [], []
    for book, _, verses in chapters:
        (val if book in HELD_OUT_BOOKS else train).append(' '.join(verses))
    for name, docs in (('train.txt', train), ('val.txt', val)):
        with open(os.path.join(args.work, name), 'w', encoding='utf-8') as f:
            f.write('\n'.join(docs) + '\n')
    n_train = sum(len(d) for d in train)
    n_val = sum(len(d) for d in val)
    print(f'prepare: {len(chapters)} chapters; train {len(train)} chapters {n_train} chars, '
          f'val {len(val)} chapters {n_val} chars ({100 * n_val / (n_train + n_val):.1f}%)')


if __name__ == '__main__':
    main()
