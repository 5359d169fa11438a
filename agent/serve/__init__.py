"""`effort serve`: schedules, the Asana webhook receiver, reactions, alerts and health (capability 12).

Public API::

    from agent.serve import create_app, ServeDeps, Finding, CapacityAlert, ServeStore
    app = create_app(settings, deps)                 # starlette app (run with uvicorn)
    app.state.runtime.reactor.wait_for(pred, timeout)  # tests: wait until a reaction happened
    from agent.serve.wiring import build_deps, GateProposer   # the production dependencies
    from agent.serve.webhooks import sign, verify_signature, event_key
"""

from agent.serve.app import ServeRuntime, create_app
from agent.serve.deps import CapacityAlert, Finding, ServeDeps
from agent.serve.store import ServeStore

__all__ = ["CapacityAlert", "Finding", "ServeDeps", "ServeRuntime", "ServeStore", "create_app"]
