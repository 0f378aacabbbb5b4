"""A small Flask API as people write it: Flask rejects invalid JSON itself (400), but a bad
``?limit=`` crashes the view (a real bug) — which is what shows the debugger in debug mode."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def index() -> Any:
    if request.method == "POST":
        return jsonify(request.get_json())
    limit = int(request.args.get("limit", "10"))
    return jsonify(items=[], limit=limit)
