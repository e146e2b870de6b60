"""Publishes updates with the PyPI `mercure-publisher` package (which signs
its own pre-standard publisher token) and prints the id the hub answered
for each, one per line.

    python publish.py <hub url> <HMAC secret> <topic> <first n> <count>
"""

import sys

from mercure_publisher import MercureConfig, MercurePublisher

hub, secret, topic, first, count = sys.argv[1:6]
config = MercureConfig(hub_url=hub, publisher_jwt_key=secret, publish_topics=[topic])
with MercurePublisher(config) as publisher:
    for n in range(int(first), int(first) + int(count)):
        print(publisher.publish(topic, {"n": n}), flush=True)
