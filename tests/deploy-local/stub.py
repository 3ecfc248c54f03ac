#!/usr/bin/env python3
"""A stand-in for kubectl, docker, kind and minikube (by the name it is run
as), for tests/deploy-local/run.sh: each call is appended to $STUB_LOG as
one JSON object (argv, the stdin of `apply -f -`, the contents of
`--from-file` files). `kubectl port-forward ... PORT:80` listens on
127.0.0.1:PORT until it is killed, as the real one does."""

import json
import os
import socket
import sys

tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
record = {"tool": tool, "argv": args}

for arg in args:
    if arg.startswith("--from-file="):
        path = arg.split("=", 2)[2]
        with open(path) as f:
            record.setdefault("files", {})[arg.split("=", 2)[1]] = f.read()
if tool == "kubectl" and args[-3:] == ["apply", "-f", "-"]:
    record["stdin"] = sys.stdin.read()

with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(record) + "\n")

if tool == "kubectl":
    if args[:2] == ["config", "current-context"]:
        print(os.environ.get("STUB_CONTEXT", "kind-mcp-test"))
    elif "create" in args and "--dry-run=client" in args:
        kind = args[args.index("create") + 1]
        if kind == "namespace":
            print(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {args[args.index('create') + 2]}")
        else:
            name = args[args.index("create") + 3]
            print(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}")
    elif "port-forward" in args:
        if os.environ.get("STUB_PORT_FORWARD_FAIL"):
            print("error: unable to forward port: pod is not running", file=sys.stderr)
            sys.exit(1)
        port = int(args[args.index("port-forward") + 2].split(":")[0])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        print(f"Forwarding from 127.0.0.1:{port} -> 8080", flush=True)
        while True:
            connection, _ = server.accept()
            connection.close()
