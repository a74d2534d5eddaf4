#!/usr/bin/env python3
"""Collapsed stacks (async-profiler's `collapsed` output: "frame;frame;... count") to a
self-contained SVG flame graph, and a text summary of where the samples go.

    bench-flame.py PROFILE.collapsed OUT.svg TITLE > summary.txt
"""
import collections
import html
import sys

sys.setrecursionlimit(100000)

src, out, title = sys.argv[1], sys.argv[2], sys.argv[3]
stacks = []
for line in open(src):
    stack, _, n = line.rstrip('\n').rpartition(' ')
    if stack and n.isdigit():
        stacks.append((stack.split(';'), int(n)))
total = sum(n for _, n in stacks) or 1

# ------------------------------------------------------------------ summary
def pct(n):
    return f'{100.0 * n / total:5.1f}%'

thread = collections.Counter()
selfc = collections.Counter()
incl = collections.Counter()
for frames, n in stacks:
    thread[frames[0] if frames[0].startswith('[') else '(no thread name)'] += n
    selfc[frames[-1]] += n
    for f in set(frames):
        incl[f] += n

print(f'{total} samples')
print('\nby thread:')
for f, n in thread.most_common(12):
    print(f'  {pct(n)}  {f}')
print('\nself (leaf frames):')
for f, n in selfc.most_common(30):
    print(f'  {pct(n)}  {f}')
print('\ninclusive, Patroxy, Netty handlers and logging (frames on the stack):')
keys = ('io/patroxy', 'io.patroxy', 'jboss/logmanager', 'jboss.logmanager', 'Bootstrap', 'ChannelInitializer',
        'IdleStateHandler', 'DefaultChannelPipeline.addLast', 'AbstractEpollStreamChannel', 'LongAdder',
        'epoll_wait', 'EpollEventLoop.epollWait', 'writev', 'sendmsg', 'send', 'recv', 'read', 'write',
        'connect', 'accept', 'close', 'GC', 'C2Compiler', 'C1Compiler', 'CompileBroker')
shown = [(f, n) for f, n in incl.most_common() if any(k in f for k in keys)]
for f, n in shown[:45]:
    print(f'  {pct(n)}  {f}')

# ------------------------------------------------------------------ flame graph
class Node:
    __slots__ = ('name', 'n', 'kids')

    def __init__(self, name):
        self.name, self.n, self.kids = name, 0, {}

root = Node('all')
for frames, n in stacks:
    node = root
    node.n += n
    for f in frames:
        node = node.kids.setdefault(f, Node(f))
        node.n += n

W, H = 1800, 16
rects = []
def walk(node, x, depth):
    rects.append((x, depth, node))
    cx = x
    for k in sorted(node.kids.values(), key=lambda k: k.name):
        walk(k, cx, depth + 1)
        cx += k.n
walk(root, 0, 0)
depth_max = max(d for _, d, _ in rects) + 1
height = (depth_max + 3) * H
def color(name):
    if 'io/patroxy' in name or 'io.patroxy' in name:
        return '#5fb35f'
    if 'netty' in name:
        return '#e8a33d'
    if name.endswith('_[k]') or name.startswith('['):
        return '#d56b5f'
    h = sum(map(ord, name)) % 40
    return f'hsl({20 + h},70%,{60 + h % 15}%)'
with open(out, 'w') as f:
    f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" font-family="monospace" font-size="11">\n')
    f.write(f'<text x="{W / 2}" y="14" text-anchor="middle" font-size="14">{html.escape(title)} ({total} samples)</text>\n')
    f.write('<text x="4" y="28">green: Patroxy, orange: Netty; hover for the frame and its share</text>\n')
    for x, d, node in rects:
        w = node.n / total * W
        if w < 0.3:
            continue
        y = height - (d + 1) * H
        name = html.escape(node.name)
        f.write(f'<g><title>{name} ({pct(node.n).strip()})</title>'
                f'<rect x="{x / total * W:.2f}" y="{y}" width="{w:.2f}" height="{H - 1}" fill="{color(node.name)}"/>')
        if w > 40:
            f.write(f'<text x="{x / total * W + 2:.2f}" y="{y + 11}">{name[: int(w / 6.6)]}</text>')
        f.write('</g>\n')
    f.write('</svg>\n')
