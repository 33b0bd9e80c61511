"""An MLflow tracking server (``http(s)://host:port``), read with MLflow's own client.

``MlflowClient`` is the well-kept reader here: it speaks the REST API with the server's
pagination and the user's credentials (``MLFLOW_TRACKING_TOKEN``, basic auth, TLS
settings). It retries an unreachable server for minutes, so the server is first asked for
``/health`` with a short timeout, and the client's own timeout and retries are bounded
while it reads (unless the user set ``MLFLOW_HTTP_REQUEST_TIMEOUT`` /
``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` themselves).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from overfitlint.errors import InputError
from overfitlint.loaders.trackers.mlflow_runs import RawRun, pick_experiment, to_sweep
from overfitlint.loaders.trackers.run import MetricPoints, Sweep, parse_param

DEFAULT_TIMEOUT = 10.0
PAGE = 1000


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _client(url: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise InputError(
            f"{url}: reading an MLflow tracking server needs MLflow's client: "
            "pip install 'overfitlint[mlflow]'"
        ) from exc
    return MlflowClient(tracking_uri=url)


def check_reachable(url: str, timeout: float) -> None:
    """One line when nothing answers at ``url`` within ``timeout`` seconds."""
    import urllib.error  # with http.client and ssl: only for a server, not every check
    import urllib.request

    health = url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as response:
            response.read(64)
    except urllib.error.HTTPError:
        return  # it answers (a proxy or a hosted server may not serve /health); the client
        # sends the credentials and reports what the server says
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(
            f"{url}: the MLflow tracking server is unreachable ({reason}; waited at most "
            f"{timeout:g} s): check the address and that `mlflow server` runs"
        ) from exc


@contextmanager
def _bounded_requests(timeout: float) -> Iterator[None]:
    settings = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, int(timeout))),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    }
    added = {key: value for key, value in settings.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def load_server(
    url: str,
    *,
    experiment: str | None = None,
    run_id: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    client = _client(url)
    check_reachable(url, timeout)
    from mlflow.exceptions import MlflowException

    with _bounded_requests(timeout):
        try:
            if run_id is not None:
                run = client.get_run(run_id)
                exp_id = run.info.experiment_id
                name = client.get_experiment(exp_id).name
                raw = [_raw(client, run)]
                if not raw[0].metrics:
                    raise InputError(f"{url}: MLflow run {run_id} logged no metrics")
            else:
                experiments = {e.experiment_id: e.name for e in client.search_experiments()}
                with_runs = {
                    exp_id for exp_id in experiments if client.search_runs([exp_id], max_results=1)
                }
                exp_id = pick_experiment(experiments, with_runs, experiment, url)
                name = experiments[exp_id]
                raw = [_raw(client, run) for run in _all_runs(client, exp_id)]
        except MlflowException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{url}: the MLflow server refused the request: {first}") from exc
    return to_sweep(
        raw,
        kind_source=url,
        experiment=name,
        fmt="mlflow-server",
        train_metric=train_metric,
        val_metric=val_metric,
    )


def _all_runs(client, exp_id: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs(
            [exp_id], max_results=PAGE, page_token=token, order_by=["attributes.start_time ASC"]
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _raw(client, run) -> RawRun:
    metrics = {}
    for key in run.data.metrics:
        points = MetricPoints()
        for metric in sorted(
            client.get_metric_history(run.info.run_id, key), key=lambda m: (m.step, m.timestamp)
        ):
            points.add(float(metric.step), float(metric.value))
        metrics[key] = points
    return RawRun(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        status=str(run.info.status),
        params={key: parse_param(value) for key, value in run.data.params.items()},
        tags=dict(run.data.tags),
        metrics=metrics,
    )
