"""What dockerhello runs inside the app's proxy container, with the proxy's own Python and
the standard library only: the health probe of a release, and the switch of the live route."""

from __future__ import annotations

# The proxy's Python, started without site-packages or the environment (-I -S): the scripts
# below need the standard library only, and each exec starts about 35 ms sooner.
PYTHON = ("python3", "-I", "-S", "-c")
PROBE_EVERY = 0.02

# What the probe sends: a Host that ALLOWED_HOSTS allows by default, and the scheme a TLS
# terminator in front says, as requests through the proxy carry it with HTTPS=on (where
# Django would otherwise redirect the probe to https); an app without HTTPS=on ignores it.
PROBE_HEADERS = {"Host": "localhost", "X-Forwarded-Proto": "https"}
# Who the deploy's request to the published URL is, in the proxy's access log.
CHECK_AGENT = "dockerhello (deploy check)"

# Run in the proxy: argv URL WITHIN EVERY. urllib follows redirects, as a browser does: an app
# whose / redirects to a login page is up when that page answers.
PROBE = """
import sys, time, urllib.request as u
url, within, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
HEADERS = PROBE_HEADERS
deadline = time.monotonic() + within
while True:
    try:
        answer = str(u.urlopen(u.Request(url, headers=HEADERS), timeout=3).status)
    except u.HTTPError as e:
        answer = str(e.code)
    except Exception as e:
        answer = 'error %s' % e
    if answer == '200' or time.monotonic() >= deadline:
        break
    time.sleep(every)
print(answer)
""".replace("PROBE_HEADERS", repr(PROBE_HEADERS), 1)


# Run in the proxy: argv HOST PORT. The release the proxy serves at HOST:PORT, from its
# X-Dockerhello-Release header, whatever the status: where the proxy is on the engine host's
# network, the address a user on that host reaches, such as its loopback.
SERVED = """
import http.client, sys
connection = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=3)
connection.request('GET', '/', headers={'Host': 'localhost:' + sys.argv[2], 'User-Agent': CHECK_AGENT})
print(connection.getresponse().getheader('X-Dockerhello-Release') or '')
""".replace("CHECK_AGENT", repr(CHECK_AGENT), 1)


# Run in the proxy as its user: argv ROOT WAIT, and the target on stdin as `switch TARGET`.
# Started ahead, while the release comes up (a held exec), so that the switch itself is a
# write: stdin ending before that line (the deploy failed, was stopped, or lost the engine),
# or no line within WAIT seconds, changes nothing (exit 3). `live` is renamed over (atomic),
# never rewritten in place. The target before this switch is kept: a request may have read
# the link a moment ago and not yet resolved its target.
SWITCH = """
import os, select, sys
root, wait = sys.argv[1], float(sys.argv[2])
words = sys.stdin.readline().split() if select.select([sys.stdin], [], [], wait)[0] else []
if len(words) != 2 or words[0] != 'switch':
    raise SystemExit(3)
target = words[1]
link = os.path.join(root, 'live')
os.makedirs(os.path.join(root, 'to', target), exist_ok=True)
try:
    previous = os.path.basename(os.readlink(link))
except OSError:
    previous = None
if os.path.lexists(link + '.new'):
    os.unlink(link + '.new')
os.symlink(os.path.join('to', target), link + '.new')
os.replace(link + '.new', link)
for name in os.listdir(os.path.join(root, 'to')):
    if name not in (target, previous):
        os.rmdir(os.path.join(root, 'to', name))
"""
