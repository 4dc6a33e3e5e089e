# Starts a dqe run from Python, by workflow type name, and waits for its result: dqe's workflow type,
# task queue and input JSON are a public contract, so any Temporal SDK can start a run.
#   pip install temporalio
#   python examples/start-from-python.py REQUEST_ID /data/intents.jsonl [/shared/runs/DIR]
# TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default") and
# DQE_TASK_QUEUE (default "dqe-cpu") say where; a dqe worker must poll that task queue.
import asyncio
import json
import os
import sys
import traceback

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError


async def main(request_id: str, dataset: str, output_dir: str | None) -> None:
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
    )
    workflow_id = f"dqe-{request_id}"
    dqe_input = {"dataset": dataset, "ratio": 0.5, "seed": 0}
    if output_dir:
        dqe_input["outputDir"] = output_dir
    try:
        handle = await client.start_workflow(
            "dqe",  # the workflow type name
            dqe_input,
            id=workflow_id,  # from your own request id: starting twice finds the first run
            task_queue=os.environ.get("DQE_TASK_QUEUE", "dqe-cpu"),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id)
    print(json.dumps({"started": workflow_id}), flush=True)
    result = await handle.result()  # {runDir, reportPath, finalPath, counts: {...}}
    progress = await handle.query("progress")  # {status, phase, phaseIndex, phaseCount, done, runDir}
    print(json.dumps({"result": result, "status": progress["status"]}), flush=True)


if __name__ == "__main__":
    code = 0
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
    except BaseException:  # noqa: BLE001 - report it, then exit non-zero below
        traceback.print_exc()
        code = 1
    # The SDK's Rust core keeps threads that can abort the interpreter while it finalizes
    # ("PyGILState_Release ... finalizing", temporalio/sdk-python#300), turning a good run into a
    # non-zero exit. Nothing is left to clean up here: flush and leave without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
