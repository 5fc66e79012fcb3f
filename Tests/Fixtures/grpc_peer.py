"""A gRPC server and client for Switchyard's end-to-end tests, with raw-bytes messages (no
generated code): `server PORT NAME` serves /test.Echo/Unary, /test.Echo/Stream and
/test.Echo/Fail; `client TARGET AUTHORITY CALL [ARG]` makes one call and prints JSON."""
import json
import signal
import sys
from concurrent import futures

import grpc


def serve(port, name):
    def unary(request, context):
        context.set_trailing_metadata((("x-served-by", name),))
        return b"unary from " + name.encode() + b": " + request

    def stream(request, context):
        count = int(request.decode() or "3")
        for i in range(count):
            yield f"message {i} from {name}".encode()
        context.set_trailing_metadata((("x-served-by", name),))

    def fail(request, context):
        context.abort(grpc.StatusCode.UNAVAILABLE, f"{name} is unavailable")

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"ready {bound}", flush=True)
    server.wait_for_termination()


def call(target, authority, method, argument):
    options = [("grpc.default_authority", authority)]
    with grpc.insecure_channel(target, options=options) as channel:
        result = {"code": "OK"}
        try:
            if method == "Stream":
                rpc = channel.unary_stream("/test.Echo/Stream")(argument.encode(), timeout=20)
                result["messages"] = [m.decode() for m in rpc]
                result["trailers"] = dict(rpc.trailing_metadata() or ())
            else:
                response, rpc = channel.unary_unary(f"/{method}" if "/" in method else f"/test.Echo/{method}").with_call(
                    argument.encode(), timeout=20)
                result["message"] = response.decode()
                result["trailers"] = dict(rpc.trailing_metadata() or ())
        except grpc.RpcError as error:
            result = {"code": error.code().name, "details": error.details(),
                      "trailers": dict(error.trailing_metadata() or ()),
                      "initial": dict(error.initial_metadata() or ())}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    # The test runner may hand its children SIGTERM ignored or blocked; tests stop peers with it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        call(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
