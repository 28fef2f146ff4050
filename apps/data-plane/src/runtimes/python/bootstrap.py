"""Nova's Python instance bootstrap.

Started by the data plane as a generic process (as root when Nova is root),
it waits on fd 3 for one `load` message that makes it an instance of one
function version: it takes the function's environment, working directory and
limits, drops to the function's user, and imports the handler. Then it runs
one `invoke` at a time until the data plane closes fd 3.

Frames on fd 3: u32 header length, u32 body length (big-endian), a JSON
header, then the body bytes (payload in, output out). stdout and stderr are
captured per invocation and returned as its log.
"""

import copy
import ctypes
import importlib
import random
import inspect
import io
import json
import os
import resource
import signal
import socket
import struct
import sys
import time
import traceback

# Set by the limits the data plane sends in its load frame (instanceLimits); nothing is allowed before it.
LOG_LIMIT = 0
OUTPUT_LIMIT = 0
ERROR_LIMIT = 0
PR_SET_PDEATHSIG = 1

channel = socket.socket(fileno=3)
reader = channel.makefile("rb")


def send(header, body=b""):
    encoded = json.dumps(header, separators=(",", ":")).encode()
    channel.sendall(struct.pack(">II", len(encoded), len(body)) + encoded + body)


def receive():
    prefix = reader.read(8)
    if len(prefix) < 8:
        return None, None
    header_length, body_length = struct.unpack(">II", prefix)
    header = json.loads(reader.read(header_length))
    body = reader.read(body_length) if body_length else b""
    return header, body


class CapturedOutput(io.TextIOBase):
    """stdout and stderr of one invocation, kept up to LOG_LIMIT bytes."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.truncated = False

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        encoded = len(text.encode("utf-8", "replace"))
        if self.size + encoded > LOG_LIMIT:
            room = LOG_LIMIT - self.size
            if room > 0:
                self.parts.append(text.encode("utf-8", "replace")[:room].decode("utf-8", "ignore"))
                self.size = LOG_LIMIT
            self.truncated = True
        else:
            self.parts.append(text)
            self.size += encoded
        return len(text)

    def flush(self):
        pass

    def text(self):
        return "".join(self.parts)


class StateError(Exception):
    """A state call failed; code is the gRPC status name in lower case (invalid_argument, ...)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class ConflictError(StateError):
    """A transaction's reads no longer held at commit; nothing was applied."""


class WorkflowInterrupted(BaseException):
    """The workflow's run stops here: it sleeps on a durable timer, or it is no longer this run's to finish.

    A BaseException, so that `except Exception` in a handler lets it through.
    """


TRANSACTION_RERUNS = 5
DEFAULT_NAMESPACE = "default"
state_seq = 0


def state_call(request_id, op, scope, key=None, prefix=None, body=b""):
    """Sends one state request on fd 3 and waits for its reply (the only frames that come during a call)."""
    header = {"t": "state", "requestId": request_id, "op": op}
    header.update(scope)
    if key is not None:
        header["key"] = key
    if prefix is not None:
        header["prefix"] = prefix
    return data_plane_call(header, body)


def data_plane_call(header, body=b""):
    """Sends a state or workflow request and waits for the state_reply with its seq."""
    global state_seq
    state_seq += 1
    header["seq"] = state_seq
    send(header, body)
    while True:
        reply, reply_body = receive()
        if reply is None:
            os._exit(0)
        if reply.get("t") == "state_reply" and reply.get("seq") == state_seq:
            break
    if not reply["ok"]:
        if reply["code"] == "workflow_interrupted":
            raise WorkflowInterrupted(reply["error"])
        error_class = ConflictError if reply["code"] == "aborted" else StateError
        raise error_class(reply["code"], reply["error"])
    return reply, reply_body


def check_key(key):
    if not isinstance(key, str) or key == "":
        raise TypeError("a state key is a non-empty str")
    return key


def encode_value(value):
    if not isinstance(value, dict):
        raise TypeError("a state value is a dict (a JSON object), not %s" % type(value).__name__)
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class Transaction:
    """Reads lock their keys until the end; writes and deletes are applied together at commit."""

    def __init__(self, state):
        self._state = state
        self._reads = {}
        self._writes = {}
        self._opened = False

    def get(self, key):
        check_key(key)
        if key in self._writes:
            return copy.deepcopy(self._writes[key])
        self._opened = True
        reply, body = state_call(self._state._request_id, "tx_get", self._state._scope, key=key)
        self._reads.setdefault(key, reply["version"])
        return json.loads(body) if reply["exists"] else None

    def write(self, key, value):
        # A checked copy: what the handler changes afterwards is not written.
        self._writes[check_key(key)] = json.loads(encode_value(value))

    def delete(self, key):
        self._writes[check_key(key)] = None

    def _commit(self):
        if not self._writes and not self._opened:
            return
        scope = self._state._scope
        operations = {
            "reads": [dict(scope, key=key, version=version) for key, version in self._reads.items()],
            "writes": [dict(scope, key=key, value=value) for key, value in self._writes.items()],
        }
        body = json.dumps(operations, separators=(",", ":")).encode()
        state_call(self._state._request_id, "tx_commit", {}, body=body)

    def _abort(self):
        if self._opened:
            state_call(self._state._request_id, "tx_abort", {})


class TransactionBlock:
    """`with state.transaction() as tx:` commits on leaving the block and aborts on an exception."""

    def __init__(self, state):
        self._state = state
        self._tx = None

    def __enter__(self):
        self._tx = self._state._begin()
        return self._tx

    def __exit__(self, kind, error, trace):
        tx, self._tx = self._tx, None
        try:
            if kind is None:
                tx._commit()
            else:
                tx._abort()
        finally:
            self._state._end()
        return False


class State:
    """context.state: the function's own scope (namespace "default", agent = function name) or another."""

    ConflictError = ConflictError
    StateError = StateError

    def __init__(self, request_id, scope, call):
        self._request_id = request_id
        self._scope = scope
        self._call = call

    def scope(self, agent_id=None, namespace=None):
        scope = dict(self._scope)
        if agent_id is not None:
            scope["agentId"] = agent_id
        if namespace is not None:
            scope["namespace"] = namespace
        return State(self._request_id, scope, self._call)

    def get(self, key):
        reply, body = state_call(self._request_id, "get", self._scope, key=check_key(key))
        return json.loads(body) if reply["exists"] else None

    def list_keys(self):
        return json.loads(state_call(self._request_id, "keys", self._scope)[1])

    def scan(self, prefix=""):
        if not isinstance(prefix, str):
            raise TypeError("a prefix is a str")
        return json.loads(state_call(self._request_id, "scan", self._scope, prefix=prefix)[1])

    def transaction(self, fn=None):
        """`with state.transaction() as tx:`, or state.transaction(fn): fn(tx) re-run on a conflict."""
        if fn is None:
            return TransactionBlock(self)
        for attempt in range(TRANSACTION_RERUNS + 1):
            try:
                with TransactionBlock(self) as tx:
                    result = fn(tx)
                return result
            except ConflictError:
                if attempt == TRANSACTION_RERUNS:
                    raise
                time.sleep(random.uniform(0.002, 0.01) * (attempt + 1))

    def _begin(self):
        if self._call["transaction"]:
            raise RuntimeError("a transaction is already open in this call; end it before starting another")
        self._call["transaction"] = True
        return Transaction(self)

    def _end(self):
        self._call["transaction"] = False


class Context:
    """What a handler learns about its invocation (names follow AWS Lambda's)."""

    def __init__(self, header, function):
        self.request_id = header["requestId"]
        self.aws_request_id = self.request_id
        self.function_name = function["functionName"]
        self.version = function["version"]
        self.function_version = str(self.version)
        self.memory_limit_mb = function["memoryMb"]
        self.memory_limit_in_mb = self.memory_limit_mb
        self.metadata = header.get("metadata", {})
        self._deadline = time.monotonic() + header["timeoutMs"] / 1000.0
        self._state = None
        # Set when this call is a run of a workflow (StartWorkflow): step and sleep work then.
        self.workflow_id = header.get("workflowId")
        # W3C trace context of this invocation: send it on (a "traceparent" header) to continue the trace.
        self.traceparent = header.get("traceparent") or ""

    @property
    def state(self):
        if self._state is None:
            self._state = State(self.request_id, {}, {"transaction": False})
        return self._state

    def step(self, name, fn, *args, **kwargs):
        """Runs fn(*args, **kwargs) once and checkpoints its JSON result.

        When the workflow resumes (after a sleep, a failure or its node's
        death), a finished step returns its recorded result without running
        again. State written inside the step commits with its checkpoint.
        """
        if not isinstance(name, str) or name == "":
            raise TypeError("a step's name is a non-empty str")
        reply, body = self._workflow_call({"op": "step_begin", "name": name})
        if reply.get("replay"):
            return json.loads(body)
        try:
            value = fn(*args, **kwargs)
            encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except WorkflowInterrupted:
            raise
        except BaseException as error:
            self._workflow_call({"op": "step_fail", "name": name, "error": describe(error)})
            raise
        self._workflow_call({"op": "step_end", "name": name}, encoded.encode())
        return json.loads(encoded)

    def sleep(self, seconds):
        """A durable timer: the workflow leaves its instance and resumes, on any node, when it is due."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise TypeError("sleep takes a number of seconds, 0 or more")
        self._workflow_call({"op": "sleep", "seconds": float(seconds)})

    def _workflow_call(self, fields, body=b""):
        header = {"t": "workflow", "requestId": self.request_id}
        header.update(fields)
        return data_plane_call(header, body)

    def progress(self, text):
        """How far the work has come ("step 2 of 3"); an async invocation keeps the last report."""
        send({"t": "progress", "requestId": self.request_id, "text": str(text)[:256]})

    @property
    def remaining_time_ms(self):
        return self.get_remaining_time_in_millis()

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def decode_event(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body


def encode_output(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return json.dumps(value).encode()


def clip(text, limit, keep_end=False):
    """At most limit bytes of UTF-8 (never more UTF-16 units, as the data plane counts)."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit:
        return text
    return (encoded[-limit:] if keep_end else encoded[:limit]).decode("utf-8", "ignore")


def describe(error):
    try:
        message = str(error)
    except BaseException:  # a hostile __str__ must not take the bootstrap down
        message = "<unprintable>"
    return clip(type(error).__name__ + (": " + message if message else ""), ERROR_LIMIT)


def drop_privileges(function):
    uid = function.get("uid")
    if uid is None:
        return
    os.setgroups([])
    os.setgid(function["gid"])
    os.setuid(uid)
    # Cleared by the change of credentials above, so set afterwards: if the
    # data plane dies, the kernel ends this instance too.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def set_limits(function):
    memory = function["memoryMb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def apply_limits(limits):
    global LOG_LIMIT, OUTPUT_LIMIT, ERROR_LIMIT
    LOG_LIMIT = limits["logBytes"]
    OUTPUT_LIMIT = limits["outputBytes"]
    ERROR_LIMIT = limits["errorChars"]


def load(function):
    os.environ.clear()
    os.environ.update(function["env"])
    os.chdir(function["workDir"])
    set_limits(function)
    drop_privileges(function)
    module_name, _, function_name = function["handler"].rpartition(".")
    sys.path.insert(0, function["codeDir"])
    captured = CapturedOutput()
    sys.stdout, sys.stderr = captured, captured
    try:
        module = importlib.import_module(module_name or function["module"])
        handler = getattr(module, function_name, None)
        if handler is None or not callable(handler):
            raise AttributeError(
                "module '%s' has no function '%s'" % (module_name or function["module"], function_name)
            )
        return handler, wants_context(handler), captured.text()
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def wants_context(handler):
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    return varargs or len(positional) >= 2


def is_stream(value):
    return inspect.isgenerator(value) or (
        hasattr(value, "__iter__")
        and hasattr(value, "__next__")
        and not isinstance(value, (str, bytes, bytearray, dict, list))
    )


def invoke(handler, with_context, header, body, function):
    captured = CapturedOutput()
    sys.stdout, sys.stderr = captured, captured
    result = {"t": "result", "requestId": header["requestId"], "ok": True}
    output = b""
    try:
        event = decode_event(body)
        value = handler(event, Context(header, function)) if with_context else handler(event)
        if header.get("stream"):
            # Each item goes out as soon as the generator yields it.
            for item in value if is_stream(value) else [value]:
                chunk = encode_output(item)
                if len(chunk) > OUTPUT_LIMIT:
                    raise ValueError("a streamed chunk is %d bytes; at most %d" % (len(chunk), OUTPUT_LIMIT))
                send({"t": "chunk", "requestId": header["requestId"]}, chunk)
        else:
            output = encode_output(list(value) if is_stream(value) else value)
        if len(output) > OUTPUT_LIMIT:
            result = {"t": "result", "requestId": header["requestId"], "ok": False, "fatal": "output_too_large", "error": "output is %d bytes" % len(output)}
            output = b""
    except MemoryError as error:
        result = {"t": "result", "requestId": header["requestId"], "ok": False, "fatal": "memory", "error": describe(error) or "MemoryError"}
    except BaseException as error:  # the handler's failure is the caller's answer, whatever it is
        if not isinstance(error, WorkflowInterrupted):
            traceback.print_exc()
        result = {"t": "result", "requestId": header["requestId"], "ok": False, "error": describe(error)}
        if isinstance(error, (SystemExit, KeyboardInterrupt)):
            result["fatal"] = "exit"
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    result["log"] = captured.text()
    result["logTruncated"] = captured.truncated
    return result, output


def main():
    send({"t": "ready"})
    handler = None
    with_context = False
    function = None
    while True:
        header, body = receive()
        if header is None:
            os._exit(0)
        kind = header["t"]
        if kind == "load":
            function = header["function"]
            apply_limits(header["limits"])
            try:
                handler, with_context, log = load(function)
                send({"t": "loaded", "log": log})
            except BaseException as error:
                sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
                send({"t": "load_error", "error": describe(error), "log": clip(traceback.format_exc(), LOG_LIMIT, keep_end=True)})
                os._exit(1)
        elif kind == "invoke":
            result, output = invoke(handler, with_context, header, body, function)
            send(result, output)
            if result.get("fatal"):
                os._exit(1)


main()
