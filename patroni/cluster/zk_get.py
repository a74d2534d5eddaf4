"""Prints the value of one of Patroni's keys in ZooKeeper (nothing when the key is missing).

Usage: zk_get.py PATRONI_YML HOST:PORT KEY    e.g. KEY = sync, leader, config
The key is /<namespace>/<scope>/KEY, namespace and scope as PATRONI_YML says (namespace default
/service, as Patroni's). Run by local-cluster.sh with Debian's python3 and python3-kazoo.
"""
import logging
import sys

import yaml
from kazoo.client import KazooClient


def main(patroni_yml, hosts, key):
    with open(patroni_yml) as f:
        config = yaml.safe_load(f)
    namespace = (config.get('namespace') or '/service').strip('/')
    path = '/%s/%s/%s' % (namespace, config['scope'], key)
    zk = KazooClient(hosts=hosts, timeout=5)
    zk.start(timeout=5)
    try:
        if zk.exists(path):
            sys.stdout.write(zk.get(path)[0].decode())
    finally:
        zk.stop()
        zk.close()


if __name__ == '__main__':
    logging.basicConfig(level=logging.CRITICAL)
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
