"""Consumers of resources and the projects, users and types they belong to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import utcnow
from placement.db.helpers import insert_ignoring_duplicates
from placement.db.models import Allocation, Consumer, ConsumerType, Project, User

# Before microversion 1.8 allocations carried no project or user; upstream files them
# under this placeholder.
INCOMPLETE_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ConsumerInfo:
    id: int
    uuid: uuid.UUID
    generation: int
    project_id: str
    user_id: str
    consumer_type: str | None


def find_consumer(session: Session, consumer_uuid: uuid.UUID) -> ConsumerInfo | None:
    row = session.execute(
        sa.select(
            Consumer.id, Consumer.uuid, Consumer.generation, Project.external_id,
            User.external_id, ConsumerType.name,
        )
        .join(Project, Project.id == Consumer.project_id)
        .join(User, User.id == Consumer.user_id)
        .outerjoin(ConsumerType, ConsumerType.id == Consumer.consumer_type_id)
        .where(Consumer.uuid == consumer_uuid)
    ).first()
    return None if row is None else ConsumerInfo(*row)


def create_consumer(
    session: Session, consumer_uuid: uuid.UUID, project_id: str, user_id: str,
    consumer_type: str | None,
) -> int:
    """Insert a consumer at generation 1 (it is written once already).

    A concurrent insert of the same uuid raises IntegrityError.
    """
    row = Consumer(
        uuid=consumer_uuid, generation=1,
        project_id=_external_id(session, Project, project_id),
        user_id=_external_id(session, User, user_id),
        consumer_type_id=type_id(session, consumer_type) if consumer_type else None,
    )
    session.add(row)
    session.flush()
    return row.id


def update_consumer(
    session: Session, consumer: ConsumerInfo, project_id: str, user_id: str,
    consumer_type: str | None,
) -> bool:
    """Move to the next generation, updating owner and type. False if it raced."""
    values: dict[str, object] = {
        "generation": consumer.generation + 1,
        "updated_at": utcnow(),
        "project_id": _external_id(session, Project, project_id),
        "user_id": _external_id(session, User, user_id),
    }
    if consumer_type is not None:
        values["consumer_type_id"] = type_id(session, consumer_type)
    result = session.execute(
        sa.update(Consumer)
        .where(Consumer.id == consumer.id, Consumer.generation == consumer.generation)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def delete_if_unused(session: Session, consumer_ids: list[int]) -> None:
    """Consumers without allocations are gone, as upstream does."""
    if not consumer_ids:
        return
    session.execute(
        sa.delete(Consumer)
        .where(
            Consumer.id.in_(consumer_ids),
            ~sa.exists().where(Allocation.consumer_id == Consumer.id),
        )
        .execution_options(synchronize_session=False)
    )


def type_id(session: Session, name: str) -> int:
    query = sa.select(ConsumerType.id).where(ConsumerType.name == name)
    found = session.scalar(query)
    if found is None:
        row = {"name": name, "created_at": utcnow()}
        insert_ignoring_duplicates(session, ConsumerType.__table__, [row])  # type: ignore[arg-type]
        found = session.scalar(query)
    assert found is not None
    return found


def _external_id(session: Session, model: type[Project] | type[User], external: str) -> int:
    query = sa.select(model.id).where(model.external_id == external)
    found = session.scalar(query)
    if found is None:
        row = {"external_id": external}
        insert_ignoring_duplicates(session, model.__table__, [row])  # type: ignore[arg-type]
        found = session.scalar(query)
    assert found is not None
    return found
