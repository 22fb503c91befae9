#  Scrape a node's /metrics or /healthz over HTTP and check the Prometheus
#  text format (0.0.4) as a scraper reads it.
#
#    metrics_helper.py scrape URL          print {"name{labels}": value} as JSON
#    metrics_helper.py health URL          print the status code, then the body
#    metrics_helper.py hold URL N          N idle connections: is one more served?
#    metrics_helper.py idle URL SECONDS    does the server close an idle connection?
import json
import re
import socket
import sys
import time
import urllib.error
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse(text):
    """Samples by name{labels}; raises ValueError on anything malformed."""
    helped, typed, samples = set(), {}, {}
    for number, line in enumerate(text.split('\n'), 1):
        if not line:
            continue
        if line.startswith('# HELP '):
            helped.add(line.split(' ')[2])
            continue
        if line.startswith('# TYPE '):
            parts = line.split(' ')
            if len(parts) != 4 or parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                raise ValueError(f'line {number}: bad TYPE: {line!r}')
            typed[parts[2]] = parts[3]
            continue
        match = SAMPLE.match(line)
        if not match:
            raise ValueError(f'line {number}: not a sample: {line!r}')
        name, labels, value = match.group(1), match.group(2) or '', match.group(3)
        float(value)                    # raises on a non-number
        family = re.sub(r'_(bucket|sum|count)$', '', name) if re.sub(r'_(bucket|sum|count)$', '', name) in typed else name
        if family not in typed or family not in helped:
            raise ValueError(f'line {number}: {name} has no HELP/TYPE')
        key = name + labels
        if key in samples:
            raise ValueError(f'line {number}: {key} twice')
        samples[key] = float(value)
    return samples


def fetch_status(url):
    """The HTTP status of a GET, or 0 if the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            reply.read()
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return 0


def main():
    command, url = sys.argv[1], sys.argv[2]
    if command == 'scrape':
        with urllib.request.urlopen(url, timeout=5) as reply:
            kind = reply.headers.get('Content-Type', '')
            if not kind.startswith('text/plain; version=0.0.4'):
                sys.exit(f'Content-Type is {kind!r}')
            print(json.dumps(parse(reply.read().decode('utf-8')), ensure_ascii=False))
    elif command == 'health':
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                print(reply.status)
                print(reply.read().decode('utf-8'), end='')
        except urllib.error.HTTPError as error:
            print(error.code)
            print(error.read().decode('utf-8'), end='')
    elif command == 'hold':
        # N idle connections fill the server's table; one more request is
        # then turned away (libmicrohttpd closes a connection over its
        # limit at once), and once they close, requests are answered again
        count = int(sys.argv[3])
        host, port = re.match(r'http://([^:/]+):(\d+)', url).groups()
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
        print('over the limit:', fetch_status(url))
        for sock in idle:
            sock.close()
        deadline = time.monotonic() + 10
        status = fetch_status(url)
        while status != 200 and time.monotonic() < deadline:
            status = fetch_status(url)
        print('after:', status)
    elif command == 'idle':
        # An idle connection is closed by the server: print how it ended
        host, port = re.match(r'http://([^:/]+):(\d+)', url).groups()
        sock = socket.create_connection((host, int(port)), timeout=float(sys.argv[3]))
        try:
            print('closed' if sock.recv(1) == b'' else 'data')
        except socket.timeout:
            print('still open')
        finally:
            sock.close()
    else:
        sys.exit(f'unknown command {command}')


if __name__ == '__main__':
    main()
