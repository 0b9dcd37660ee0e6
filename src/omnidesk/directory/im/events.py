"""Events of team communication."""

from __future__ import annotations

import uuid

from omnidesk.directory.im.schemas import HandOut, ImMessageOut, ThreadInfo, UserRef
from omnidesk.platform.events import DomainEvent, event_type


@event_type("im.message_posted", subject="im_thread")
class MessagePosted(DomainEvent):
    thread: ThreadInfo
    message: ImMessageOut

    def subject_id(self) -> str:
        return str(self.thread.id)


@event_type("im.thread_read", subject="im_thread")
class ThreadRead(DomainEvent):
    """Only to the reader: their other tabs clear the badge too."""

    thread_id: uuid.UUID
    user_id: uuid.UUID
    last_read: int

    def subject_id(self) -> str:
        return str(self.thread_id)


@event_type("im.hand_raised", subject="user")
class HandRaised(DomainEvent):
    hand: HandOut

    def subject_id(self) -> str:
        return str(self.hand.user.id)


@event_type("im.hand_lowered", subject="user")
class HandLowered(DomainEvent):
    user_id: uuid.UUID
    by: UserRef

    def subject_id(self) -> str:
        return str(self.user_id)
