"""statehouse.v1 from Python, the way Statehouse's own SDK uses the wire.

Run by test/statehouse-python.e2e-spec.ts against a Nova server:

    python3 statehouse_wire.py ADDRESS DESCRIPTORS

Statehouse's Python SDK (statehouse-dev/statehouse, python/) calls the stubs
protoc generates from its .proto: grpcio channels, google.protobuf.Struct
values filled with Struct.update(dict) and read back with dict(struct),
HasField("value") on the optional value of GetState and of a replayed
operation, start_ts/end_ts left unset (None), and any gRPC error turned into
TransactionError. The classes here are built from Nova's descriptor set
(the same names and numbers), so no protoc is needed; each check prints its
name, and the first failure exits non-zero.
"""

import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ADDRESS, DESCRIPTORS = sys.argv[1], sys.argv[2]
SERVICE = "/statehouse.v1.StatehouseService/"


def message_classes():
    files = descriptor_pb2.FileDescriptorSet()
    with open(DESCRIPTORS, "rb") as handle:
        files.ParseFromString(handle.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    build = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    named = lambda name: build(pool.FindMessageTypeByName(name))
    return named


named = message_classes()
Struct = named("google.protobuf.Struct")
channel = grpc.insecure_channel(ADDRESS)


def rpc(name, request_type, response_type, stream=False):
    make = channel.unary_stream if stream else channel.unary_unary
    call = make(
        SERVICE + name,
        request_serializer=named("statehouse.v1." + request_type).SerializeToString,
        response_deserializer=named("statehouse.v1." + response_type).FromString,
    )
    request_class = named("statehouse.v1." + request_type)
    return lambda **fields: call(request_class(**fields), timeout=10) if not stream else call(request_class(**fields))


health = rpc("Health", "HealthRequest", "HealthResponse")
version = rpc("Version", "VersionRequest", "VersionResponse")
begin = rpc("BeginTransaction", "BeginTransactionRequest", "BeginTransactionResponse")
write = rpc("Write", "WriteRequest", "WriteResponse")
delete = rpc("Delete", "DeleteRequest", "DeleteResponse")
commit = rpc("Commit", "CommitRequest", "CommitResponse")
abort = rpc("Abort", "AbortRequest", "AbortResponse")
get_state = rpc("GetState", "GetStateRequest", "GetStateResponse")
get_at_version = rpc("GetStateAtVersion", "GetStateAtVersionRequest", "GetStateAtVersionResponse")
list_keys = rpc("ListKeys", "ListKeysRequest", "ListKeysResponse")
scan_prefix = rpc("ScanPrefix", "ScanPrefixRequest", "ScanPrefixResponse")
replay = rpc("Replay", "ReplayRequest", "ReplayEvent", stream=True)

AGENT = "python-wire-%d" % int(time.time() * 1000)


def struct(value):
    filled = Struct()
    filled.update(value)
    return filled


def committed(*operations, timeout_ms=None):
    txn_id = begin(timeout_ms=timeout_ms).txn_id
    for key, value in operations:
        if value is None:
            delete(txn_id=txn_id, namespace="default", agent_id=AGENT, key=key)
        else:
            write(txn_id=txn_id, namespace="default", agent_id=AGENT, key=key, value=struct(value))
    return commit(txn_id=txn_id).commit_ts


def status_of(call):
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


checks = []


def check(function):
    checks.append(function)
    return function


@check
def health_and_version():
    assert health().status == "ok"
    answer = version()
    assert answer.version and isinstance(answer.git_sha, str)


@check
def write_commit_and_read_back():
    first = committed(("profile", {"name": "Ada", "n": 1, "tags": ["x", True, None]}), ("other", {"o": 1}))
    second = committed(("profile", {"name": "Ada L.", "n": 2}), ("other", None))
    assert 0 < first < second
    latest = get_state(namespace="default", agent_id=AGENT, key="profile")
    assert latest.HasField("value") and latest.exists
    assert dict(latest.value)["name"] == "Ada L." and latest.value["n"] == 2
    assert (latest.version, latest.commit_ts) == (2, second)
    old = get_at_version(namespace="default", agent_id=AGENT, key="profile", version=1)
    assert old.HasField("value") and old.value["name"] == "Ada" and list(old.value["tags"]) == ["x", True, None]
    missing = get_state(namespace="default", agent_id=AGENT, key="never")
    assert not missing.HasField("value") and not missing.exists
    deleted = get_state(namespace="default", agent_id=AGENT, key="other")
    assert not deleted.HasField("value") and not deleted.exists
    assert list(list_keys(namespace="default", agent_id=AGENT).keys) == ["profile"]
    entries = scan_prefix(namespace="default", agent_id=AGENT, prefix="pro").entries
    assert [(entry.key, entry.value["n"], entry.version) for entry in entries] == [("profile", 2, 2)]


@check
def replay_whole_and_range():
    events = list(replay(namespace="default", agent_id=AGENT, start_ts=None, end_ts=None))
    assert len(events) == 2
    stamps = [event.commit_ts for event in events]
    assert stamps == sorted(stamps)
    removal = [op for op in events[1].operations if op.key == "other"][0]
    assert not removal.HasField("value") and removal.version == 2
    kept = [op for op in events[1].operations if op.key == "profile"][0]
    assert kept.HasField("value") and kept.value["name"] == "Ada L."
    ranged = list(replay(namespace="default", agent_id=AGENT, start_ts=stamps[1], end_ts=stamps[1]))
    assert [event.commit_ts for event in ranged] == [stamps[1]]


@check
def follow_until_cancelled():
    stream = replay(namespace="default", agent_id=AGENT, start_ts=None, end_ts=None, follow=True)
    seen = []

    def read():
        try:
            for event in stream:
                seen.append(event.commit_ts)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.CANCELLED

    reader = threading.Thread(target=read)
    reader.start()
    fresh = committed(("later", {"n": 3}))
    deadline = time.time() + 5
    while fresh not in seen and time.time() < deadline:
        time.sleep(0.05)
    stream.cancel()
    reader.join(5)
    assert len(seen) == 3 and seen[-1] == fresh


@check
def transaction_errors_by_status():
    txn_id = begin().txn_id
    write(txn_id=txn_id, namespace="default", agent_id=AGENT, key="twice", value=struct({}))
    commit(txn_id=txn_id)
    assert status_of(lambda: commit(txn_id=txn_id)) == grpc.StatusCode.FAILED_PRECONDITION
    assert status_of(lambda: commit(txn_id="invalid-txn-id-999")) == grpc.StatusCode.NOT_FOUND
    short = begin(timeout_ms=100).txn_id
    time.sleep(0.2)
    assert status_of(lambda: commit(txn_id=short)) == grpc.StatusCode.DEADLINE_EXCEEDED
    aborted = begin().txn_id
    write(txn_id=aborted, namespace="default", agent_id=AGENT, key="aborted", value=struct({"a": 1}))
    abort(txn_id=aborted)
    abort(txn_id=aborted)
    assert not get_state(namespace="default", agent_id=AGENT, key="aborted").exists
    assert status_of(lambda: get_state(namespace="default", agent_id="", key="k")) == grpc.StatusCode.INVALID_ARGUMENT


for check_function in checks:
    check_function()
    print("ok", check_function.__name__, flush=True)
channel.close()
