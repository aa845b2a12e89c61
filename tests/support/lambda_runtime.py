"""A built deployment.zip run as AWS Lambda's Python runtime runs it: the rehearsal's stand-in for the function.

Chalice's test client imports app.py from the checkout with the whole dev venv on the
path, so it cannot notice a package missing from the zip, a file left out of it, or code
that only works from the repository's directory. Here the zip is unzipped into a
temporary directory and served by one long-lived child process (a warm container) whose
``sys.path`` holds only the zip, what Lambda's runtime adds (boto3 and its dependencies)
and the standard library, with Lambda's environment variables, working directory, context
object, error shape, log lines and timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from tests.support.aws_emulator import ACCOUNT

# What Lambda's Python runtime provides besides the standard library: nothing else may come from the dev venv.
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda gives the import (the init phase) its own 10 s, outside the function's Timeout

# The child's main loop. It imports nothing of the function's until a request names a handler, keeps each
# module once imported (a warm container), answers on a private copy of stdout (fd 1 becomes the log, so the
# handler's prints and logging cannot corrupt an answer) and reads requests on a private copy of stdin.
DRIVER = r"""
import decimal, importlib, json, logging, math, os, resource, sys, time, traceback, uuid

config = json.loads(sys.argv[1])
sys.path[:] = config["path"]
requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
results = os.fdopen(os.dup(1), "w", encoding="utf-8")
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
os.dup2(2, 1)
request_id = ""


class RequestId(logging.Filter):
    def filter(self, record):
        record.aws_request_id = request_id
        return True


logging.Formatter.converter = time.gmtime
root = logging.StreamHandler(sys.stderr)  # the handler Lambda's runtime puts on the root logger
root.setFormatter(logging.Formatter(
    "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
root.addFilter(RequestId())
logging.getLogger().addHandler(root)


class Context:
    def __init__(self, deadline):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a string, as Lambda's is
        self.invoked_function_arn = config["arn"]
        self.aws_request_id = request_id
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def number(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def failure(error_type, message, error=None):
    stack = [] if error is None else traceback.format_list(
        [frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith("<")])
    sys.stderr.write(f"[ERROR] {error_type}: {message}\n" + ("Traceback (most recent call last):\n" if stack else "")
                     + "".join(stack))
    return json.dumps({"error": {"errorType": error_type, "errorMessage": message, "requestId": request_id,
                                 "stackTrace": stack}})


def send(line):
    sys.stdout.flush()
    sys.stderr.flush()
    results.write(line + "\n")
    results.flush()


modules = {}
for line in requests:
    request = json.loads(line)
    request_id = str(uuid.uuid4())
    os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
    module_name, _, attribute = request["handler"].rpartition(".")
    began, cold = time.monotonic(), module_name not in modules
    if not module_name:
        send(failure("Runtime.MalformedHandlerName", f"Bad handler '{request['handler']}'"))
        continue
    try:
        if cold:
            modules[module_name] = importlib.import_module(module_name)
    except ImportError as error:
        send(failure("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"))
        continue
    except Exception as error:
        send(failure(type(error).__name__, str(error), error))
        continue
    function = getattr(modules[module_name], attribute, None)
    if function is None:
        send(failure("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'"))
        continue
    init_ms = (time.monotonic() - began) * 1000
    send('{"ready": true}')
    started = time.monotonic()
    print(f"START RequestId: {request_id} Version: $LATEST", file=sys.stderr)
    try:
        result = function(request["event"], Context(started + config["timeout"]))
    except Exception as error:
        answer = failure(type(error).__name__, str(error), error)
    else:
        try:
            answer = json.dumps({"result": result}, default=number)
        except (TypeError, ValueError) as error:
            answer = failure("Runtime.MarshalError", f"Unable to marshal response: {error}")
    duration = (time.monotonic() - started) * 1000
    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"END RequestId: {request_id}", file=sys.stderr)
    print(f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms"
          f"\tMemory Size: {os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']} MB\tMax Memory Used: {used} MB"
          + (f"\tInit Duration: {init_ms:.2f} ms" if cold else ""), file=sys.stderr)
    send(answer)
"""


@dataclass(frozen=True)
class FunctionSettings:
    """The function's configuration as the stack sets it: what Lambda enforces or tells the code."""

    timeout_seconds: float = 30.0  # the function's Timeout: an invocation running longer raises LambdaTimeout
    memory_mb: int = 512  # reported to the code (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the context), not enforced
    function_name: str = "customer-api-dev"


class LambdaInvocationError(Exception):
    """The function failed as Lambda reports it (errorType, errorMessage, stackTrace): the caller sees the child's."""

    def __init__(self, error_type: str, error_message: str, stack_trace: Sequence[str] = ()) -> None:
        self.error_type, self.error_message, self.stack_trace = error_type, error_message, list(stack_trace)
        trace = f"\nTraceback (most recent call last):\n{''.join(stack_trace)}" if stack_trace else ""
        super().__init__(f"{error_type}: {error_message}{trace}")


class LambdaTimeout(Exception):
    """The invocation outlived the function's timeout: Lambda stops it and the next invocation starts cold."""


@functools.cache
def _runtime_packages() -> Path:
    """Links to just boto3 and its dependencies (once per process): site-packages whole would hide what's missing."""
    directory = Path(tempfile.mkdtemp(prefix="lambda-runtime-packages-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed in {sys.prefix}: Lambda's runtime provides it")
        locations = list(spec.submodule_search_locations or [])
        source = Path(locations[0]) if locations else Path(spec.origin)
        (directory / source.name).symlink_to(source)
    return directory


def _stdlib_paths() -> list[str]:
    """The base interpreter's standard library (never the venv's site-packages)."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    paths = sysconfig.get_paths(
        vars={**base, "installed_base": sys.base_prefix, "installed_platbase": base["platbase"]}
    )
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    candidates = [
        os.path.join(sys.base_prefix, "lib", f"python{version}.zip"),
        paths["stdlib"],
        paths["platstdlib"],
        os.path.join(paths["platstdlib"], "lib-dynload"),
        str(sysconfig.get_config_var("DESTSHARED") or ""),
    ]
    return list(dict.fromkeys(path for path in candidates if path and os.path.exists(path)))


class LambdaRuntime:
    """One function's execution environment: ``with LambdaRuntime(zip, env) as function: function.invoke(...)``."""

    def __init__(
        self, zip_path: Path, environment: Mapping[str, str], settings: FunctionSettings = FunctionSettings()
    ) -> None:
        self._zip_path, self._environment, self._settings = zip_path, dict(environment), settings
        self._directory: Path | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._final_logs: str | None = None

    def __enter__(self) -> LambdaRuntime:
        self._directory = Path(tempfile.mkdtemp(prefix="lambda-runtime-"))
        with zipfile.ZipFile(self._zip_path) as archive:
            archive.extractall(self._directory / "task")
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._directory is not None:
            self._final_logs = self.logs()  # still readable when a failing test reports them after the block
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def invoke(self, handler: str, event: Mapping[str, Any]) -> Any:
        """Run ``handler`` ("module.function") on ``event`` in the warm child, or a fresh one after a timeout."""
        if self._child is None:
            self._start()
        child = self._child
        assert child is not None
        assert child.stdin is not None
        try:
            child.stdin.write((json.dumps({"handler": handler, "event": dict(event)}) + "\n").encode())
            child.stdin.flush()
        except BrokenPipeError:
            self._exited()
        answer = self._answer(INIT_TIMEOUT_SECONDS, "Init")
        if answer.get("ready"):
            answer = self._answer(self._settings.timeout_seconds, "Task")
        if "error" in answer:
            error = answer["error"]
            raise LambdaInvocationError(error["errorType"], error["errorMessage"], error.get("stackTrace") or ())
        return answer["result"]

    def logs(self) -> str:
        """What the function wrote (stdout, stderr, Lambda's START/END/REPORT lines): its CloudWatch log stream."""
        if self._final_logs is not None:
            return self._final_logs
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""

    @property
    def _log_path(self) -> Path:
        assert self._directory is not None, "use LambdaRuntime as a context manager"
        return self._directory / "function.log"

    def _start(self) -> None:
        """A cold start: a new process with Lambda's environment, none of the parent's (no PYTHONPATH, no venv)."""
        assert self._directory is not None, "use LambdaRuntime as a context manager"
        task, settings = self._directory / "task", self._settings
        region = self._environment.get("AWS_REGION") or self._environment.get("AWS_DEFAULT_REGION") or "us-east-1"
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",  # Lambda's is en_US.UTF-8, which a dev machine may not have
            "TZ": ":UTC",
            "HOME": str(self._directory),  # botocore must not find the developer's ~/.aws
            "LAMBDA_TASK_ROOT": str(task),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": settings.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{settings.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **self._environment,
        }
        config = {
            "path": [str(task), str(_runtime_packages()), *_stdlib_paths()],
            "timeout": settings.timeout_seconds,
            "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{settings.function_name}",
        }
        with self._log_path.open("ab") as log:  # the child keeps its own descriptor
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-u", "-c", DRIVER, json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=task,
                env=environment,
                bufsize=0,
            )
        self._buffer = b""

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                child.stdin.close()  # the driver's loop ends: a clean exit
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    def _answer(self, seconds: float, phase: str) -> dict[str, Any]:
        """The child's next line within ``seconds``; past them the environment is torn down, as Lambda does."""
        assert self._child is not None
        assert self._child.stdout is not None
        out, deadline = self._child.stdout, time.monotonic() + seconds
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([out], [], [], remaining)[0]:
                self._child.kill()
                self._stop()
                raise LambdaTimeout(self._log(f"{phase} timed out after {seconds:.2f} seconds"))
            chunk = os.read(out.fileno(), 1 << 16)
            if not chunk:
                self._exited()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _exited(self) -> NoReturn:
        """The process died mid-invocation (sys.exit, a crash): Lambda reports it and starts the next one cold."""
        assert self._child is not None
        code = self._child.wait()
        self._stop()
        raise LambdaInvocationError("Runtime.ExitError", self._log(f"Runtime exited with error: exit status {code}"))

    def _log(self, line: str) -> str:
        """What Lambda itself writes to the function's log stream when it ends an invocation."""
        with self._log_path.open("a") as log:
            log.write(line + "\n")
        return line


def api_gateway_proxy_event(
    method: str,
    path: str,
    *,
    stage: str = "api",
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    authorizer: Mapping[str, Any] | None = None,
    api_id: str = "rehearsal",
) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway sends it: Chalice routes on ``resource``, not on ``path``."""
    sent = dict(headers or {})
    present = {name.lower() for name in sent}
    if isinstance(body, dict | list):
        body = json.dumps(body)
        if "content-type" not in present:
            sent["Content-Type"] = "application/json"
    for name, value in {
        "Host": f"{api_id}.execute-api.us-east-1.amazonaws.com",
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }.items():
        if name.lower() not in present:
            sent[name] = value
    template = resource or path
    context: dict[str, Any] = {
        "resourcePath": template,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "accountId": ACCOUNT,
        "apiId": api_id,
        "protocol": "HTTP/1.1",
        "requestTimeEpoch": int(time.time() * 1000),
        "domainName": sent.get("Host", f"{api_id}.execute-api.us-east-1.amazonaws.com"),
        "identity": {"sourceIp": "127.0.0.1", "userAgent": sent.get("User-Agent")},
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": template,
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }
