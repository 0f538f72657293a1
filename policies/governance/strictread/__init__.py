"""Strict readers for every file taken in: stack files, change requests, exemptions, exports.

`yaml.safe_load` and `json.load` trust their input in ways that bit this project: a 1 KB alias
bomb expands to gigabytes when the value is serialised, the last of two duplicate keys (or of two
`config:` blocks) silently wins, YAML 1.1 turns an unquoted `2.10` into the number 2.1 and `on`
into True, and deep nesting ends in a RecursionError or, in ijson's prefix-building `parse`,
in quadratic memory. This module reads the same documents with every one of those refused:

- size capped before parsing, UTF-8 only, nesting depth capped, alias uses and the nodes they
  expand to capped, duplicate keys refused at any depth, keys always text, one document only;
- YAML scalars keep their original text, style and resolved tag (`Node`), so a caller can say
  which paths must be strings and get "quote it" instead of a silently converted value;
- JSON is read as a stream of ijson `basic_parse` events with the same checks. Not `ijson.parse`:
  its prefix strings grow with depth, so a 400 KB document nested 200,000 deep costs ~10 GB.
  Digit runs are cut off *before* ijson's C backend sees them: without `use_float`, ijson 3.6's
  yajl2_c crashes the interpreter (SIGSEGV) on an integer over Python's 4,300-digit limit.

Every problem is a `ReadError` whose str() is one line: the file, the key or JSON path, the cause.
Nothing here imports the rest of the project, so any layer may use it. It lives in the pack because
the pack runs under the Pulumi CLI with only `policies/` importable (as `governance.strictread`);
the program and platformctl load the same files under the same name through `leadgen.pack`, so the
pack and the CLI refuse the same files with the same words. `limits` holds what both parsers share,
`yaml_reader` and `json_reader` the parsers; a ReadError's text is shown through `governance.escape`.
"""
from __future__ import annotations

from .json_reader import iter_json, json_path, load_json, peek_json
from .limits import (DOCUMENT_JSON_LIMITS, JSON_LIMITS, KIB, MIB, YAML_LIMITS, Limits, ReadError, Source, Stats,
                     read_bytes)
from .yaml_reader import Node, check_strings, load_yaml, parse_yaml

__all__ = ["DOCUMENT_JSON_LIMITS", "JSON_LIMITS", "KIB", "MIB", "YAML_LIMITS", "Limits", "Node", "ReadError", "Source",
           "Stats", "check_strings", "iter_json", "json_path", "load_json", "load_yaml", "parse_yaml", "peek_json",
           "read_bytes"]
