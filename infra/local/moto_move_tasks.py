"""SQS message move tasks (the console's "Start DLQ redrive") and RedriveAllowPolicy, which moto
lacks (it answers StartMessageMoveTask with 500 and drops RedriveAllowPolicy), implemented as
AWS documents them:

- StartMessageMoveTask (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html):
  the source must be the dead-letter queue of some queue (UnsupportedOperation otherwise); only
  one active task per source (UnsupportedOperation); without DestinationArn each message goes back
  to the queue it was dead-lettered from; MaxNumberOfMessagesPerSecond 1-500 fixes the rate (left
  out, the rate is the emulator's choice: as fast as it can); the task moves the messages the
  source held when it started (ApproximateNumberOfMessagesToMove); each moved message is a new
  message (new id, receive count 0) with the same body and message attributes, and its original
  is deleted once the copy is stored;
- ListMessageMoveTasks: the source's tasks, most recent first, MaxResults 1-10 (default 1), with
  Status RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED, the counters, StartedTimestamp (ms),
  the TaskHandle of a RUNNING task only, DestinationArn and MaxNumberOfMessagesPerSecond only when
  they were given, FailureReason only when FAILED;
- CancelMessageMoveTask: only a RUNNING task (UnsupportedOperation otherwise, ResourceNotFound
  for an unknown handle); what was moved stays moved; it answers the count moved so far;
- RedriveAllowPolicy (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html):
  stored and returned; `redrivePermission` is allowAll, denyAll or byQueue (with 1-10
  `sourceQueueArns`, which only byQueue may have); a queue whose RedrivePolicy names a
  dead-letter queue that does not allow it as a source is refused (InvalidParameterValue).

Which queue a dead letter came from is recorded when moto moves it (`Queue.add_message`), as
AWS keeps it for the redrive to source.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import unix_time_millis
from moto.sqs.exceptions import SQSException
from moto.sqs.models import Message, Queue, sqs_backends
from moto.sqs.responses import SQSResponse

MAX_RATE = 500
# What "the system optimises the rate" becomes here: no pause between messages.
UNLIMITED = None


# moto serializes an error by the service of the module its class is defined in.
class UnsupportedOperation(SQSException):
    __module__ = "moto.sqs.exceptions"

    def __init__(self, message: str):
        super().__init__("AWS.SimpleQueueService.UnsupportedOperation", message)


class ResourceNotFound(SQSException):
    __module__ = "moto.sqs.exceptions"

    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message)


class InvalidParameterValue(SQSException):
    __module__ = "moto.sqs.exceptions"

    def __init__(self, message: str):
        super().__init__("InvalidParameterValue", message)


# ---- where a dead letter came from -------------------------------------------------------

_add_message = Queue.add_message


def _add_message_recording_source(self: Queue, message: Message) -> None:
    previous = getattr(message, "hookline_queue_arn", None)
    if previous is not None and previous != self.queue_arn:
        message.dead_letter_source_arn = previous
    message.hookline_queue_arn = self.queue_arn
    _add_message(self, message)


Queue.add_message = _add_message_recording_source


# ---- RedriveAllowPolicy -------------------------------------------------------------------

Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
Queue.redrive_allow_policy = None  # stored as the JSON text it was given, as SQS returns it

_set_attributes = Queue._set_attributes
_setup_dlq = Queue._setup_dlq


def parse_redrive_allow_policy(text: Any) -> dict:
    try:
        policy = json.loads(text) if isinstance(text, str) else dict(text)
    except (TypeError, ValueError):
        raise InvalidParameterValue("Value for parameter RedriveAllowPolicy is invalid. Reason: not valid JSON.") from None
    permission = policy.get("redrivePermission")
    sources = policy.get("sourceQueueArns")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise InvalidParameterValue(
            "Value for parameter RedriveAllowPolicy is invalid. Reason: redrivePermission must be allowAll, denyAll or byQueue."
        )
    if permission == "byQueue" and not (isinstance(sources, list) and 1 <= len(sources) <= 10):
        raise InvalidParameterValue(
            "Value for parameter RedriveAllowPolicy is invalid. Reason: byQueue needs 1 to 10 sourceQueueArns."
        )
    if permission != "byQueue" and sources is not None:
        raise InvalidParameterValue(
            "Value for parameter RedriveAllowPolicy is invalid. Reason: only byQueue takes sourceQueueArns."
        )
    return policy


def allows_source(dead_letter_queue: Queue, source_arn: str) -> bool:
    if not dead_letter_queue.redrive_allow_policy:
        return True  # no policy: allowAll
    policy = parse_redrive_allow_policy(dead_letter_queue.redrive_allow_policy)
    if policy["redrivePermission"] == "allowAll":
        return True
    return policy["redrivePermission"] == "byQueue" and source_arn in policy["sourceQueueArns"]


def _set_attributes_with_allow_policy(self: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
    policy = attributes.get("RedriveAllowPolicy")
    if policy not in (None, ""):
        parse_redrive_allow_policy(policy)
        attributes = {**attributes, "RedriveAllowPolicy": policy if isinstance(policy, str) else json.dumps(policy)}
    _set_attributes(self, attributes, now)


def _setup_dlq_if_allowed(self: Queue, policy: Any) -> None:
    _setup_dlq(self, policy)
    target = self.dead_letter_queue
    if target is not None and not allows_source(target, self.queue_arn):
        self.redrive_policy, self.dead_letter_queue = None, None
        raise InvalidParameterValue(
            f"Value for parameter RedrivePolicy is invalid. Reason: the dead-letter queue {target.queue_arn} "
            f"does not allow {self.queue_arn} as a source queue (its RedriveAllowPolicy)."
        )


Queue._set_attributes = _set_attributes_with_allow_policy
Queue._setup_dlq = _setup_dlq_if_allowed


# ---- move tasks ---------------------------------------------------------------------------


class MoveTask:
    def __init__(self, source: Queue, destination: Queue | None, rate: int | None, region: str, account: str):
        self.handle = str(uuid.uuid4())
        self.source, self.destination, self.rate = source, destination, rate
        self.region, self.account = region, account
        self.status = "RUNNING"
        self.started_ms = int(time.time() * 1000)
        self.to_move = len(source._messages)
        self.moved = 0
        self.failure_reason: str | None = None
        self.cancel = threading.Event()
        threading.Thread(target=self.run, name=f"move-task-{self.handle[:8]}", daemon=True).start()

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source.queue_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination is not None:
            entry["DestinationArn"] = self.destination.queue_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason is not None:
            entry["FailureReason"] = self.failure_reason
        return entry

    def run(self) -> None:
        backend = sqs_backends[self.account][self.region]
        interval = 1.0 / self.rate if self.rate else 0.0
        next_at = time.monotonic()
        try:
            while self.moved < self.to_move and not self.cancel.is_set():
                message = self.next_visible()
                if message is None:
                    break  # what is left is in flight, or was deleted meanwhile
                destination = self.destination or self.origin(backend, message)
                if destination is None:
                    raise RuntimeError(f"the queue message {message.id} was dead-lettered from no longer exists")
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_at = max(next_at, time.monotonic()) + interval
                copy = backend.send_message(
                    destination.name, message.body, message_attributes=dict(message.message_attributes or {})
                )
                copy.hookline_queue_arn = destination.queue_arn
                with self.source._messages_lock:
                    self.source._messages.remove(message)  # only once the copy is stored
                self.moved += 1
            self.status = "CANCELLED" if self.cancel.is_set() else "COMPLETED"
        except Exception as error:  # noqa: BLE001  (the task fails; the messages left stay)
            self.failure_reason = str(error)
            self.status = "FAILED"

    def next_visible(self) -> Message | None:
        """The next visible message of the source, hidden from consumers while it is moved."""
        with self.source._messages_lock:
            for message in self.source._messages:
                if message.visible and not message.delayed:
                    message.visible_at = unix_time_millis() + 3_600_000
                    return message
        return None

    @staticmethod
    def origin(backend, message: Message) -> Queue | None:
        arn = getattr(message, "dead_letter_source_arn", None)
        return next((q for q in backend.queues.values() if q.queue_arn == arn), None)


_tasks: dict[str, list[MoveTask]] = {}  # by source ARN, most recent last
_tasks_lock = threading.Lock()


def _queue_by_arn(backend, arn: str | None) -> Queue:
    queue = next((q for q in backend.queues.values() if q.queue_arn == arn), None) if arn else None
    if queue is None:
        raise ResourceNotFound(f"The resource that you specified for the SourceArn/DestinationArn parameter doesn't exist: {arn}")
    return queue


def start_message_move_task(self: SQSResponse) -> ActionResult:
    backend = self.sqs_backend
    source = _queue_by_arn(backend, self._get_param("SourceArn"))
    destination_arn = self._get_param("DestinationArn")
    destination = _queue_by_arn(backend, destination_arn) if destination_arn else None
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    if rate is not None and not (1 <= int(rate) <= MAX_RATE):
        raise InvalidParameterValue(f"MaxNumberOfMessagesPerSecond must be from 1 to {MAX_RATE}")
    if not any(q.dead_letter_queue is source for q in backend.queues.values()):
        raise UnsupportedOperation("Source queue must be configured as a Dead Letter Queue.")
    with _tasks_lock:
        tasks = _tasks.setdefault(source.queue_arn, [])
        if any(t.status in ("RUNNING", "CANCELLING") for t in tasks):
            raise UnsupportedOperation("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
        task = MoveTask(source, destination, int(rate) if rate is not None else UNLIMITED, self.region, self.current_account)
        tasks.append(task)
    return ActionResult({"TaskHandle": task.handle})


def list_message_move_tasks(self: SQSResponse) -> ActionResult:
    source = _queue_by_arn(self.sqs_backend, self._get_param("SourceArn"))
    most = int(self._get_param("MaxResults") or 1)
    if not 1 <= most <= 10:
        raise InvalidParameterValue("MaxResults must be from 1 to 10")
    with _tasks_lock:
        tasks = list(reversed(_tasks.get(source.queue_arn, [])))[:most]
    return ActionResult({"Results": [t.entry() for t in tasks]})


def cancel_message_move_task(self: SQSResponse) -> ActionResult:
    handle = self._get_param("TaskHandle")
    with _tasks_lock:
        task = next((t for tasks in _tasks.values() for t in tasks if t.handle == handle), None)
    if task is None:
        raise ResourceNotFound(f"Task does not exist: {handle}")
    if task.status != "RUNNING":
        raise UnsupportedOperation(f"Only a RUNNING task can be cancelled; this one is {task.status}.")
    task.status = "CANCELLING"
    task.cancel.set()
    return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


def reset() -> None:
    """Forget every task (moto's reset forgets the queues)."""
    with _tasks_lock:
        for tasks in _tasks.values():
            for task in tasks:
                task.cancel.set()
        _tasks.clear()


SQSResponse.start_message_move_task = start_message_move_task
SQSResponse.list_message_move_tasks = list_message_move_tasks
SQSResponse.cancel_message_move_task = cancel_message_move_task
