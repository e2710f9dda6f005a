"""The images server actions leave behind: backups past their rotation, the snapshots
of unshelved servers.

Records are read from the compute database (the built-in image API's table); deleting
goes through the image API, which removes the data with the record.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import Image, Instance
from common.db import read_only, transaction
from common.errors import ControlPlaneError
from common.states import ImageStatus

LOG = logging.getLogger(__name__)


class ImageDeleter(Protocol):
    def delete(self, image_id: str) -> None:
        """Remove the image (absent is fine). Raises DriverError."""
        ...


class ImageRecords:
    def __init__(self, sessions: sessionmaker[Session], api: ImageDeleter) -> None:
        self._reads = read_only(sessions)
        self._api = api

    def backups(self, instance_uuid: uuid.UUID, backup_type: str) -> list[uuid.UUID]:
        """The server's backups of ``backup_type``, newest first."""
        with transaction(self._reads) as session:
            rows = session.execute(
                sa.select(Image.id, Image.properties, Image.created_at)
                .where(Image.status != ImageStatus.DELETED,
                       Image.owner == sa.select(Instance.project_id)
                       .where(Instance.uuid == instance_uuid).scalar_subquery())).all()
        mine = [(created, image_id) for image_id, props, created in rows
                if (props or {}).get("image_type") == "backup"
                and (props or {}).get("instance_uuid") == str(instance_uuid)
                and (props or {}).get("backup_type") == backup_type]
        return [image_id for _, image_id in sorted(mine, key=lambda r: (r[0], str(r[1])),
                                                   reverse=True)]

    def rotate_backups(self, instance_uuid: uuid.UUID, backup_type: str,
                       rotation: int) -> None:
        """Delete the server's backups of ``backup_type`` beyond the newest ``rotation``."""
        for image_id in self.backups(instance_uuid, backup_type)[rotation:]:
            LOG.info("rotating out backup %s of %s", image_id, instance_uuid)
            self.delete(image_id)

    def delete(self, image_id: uuid.UUID | str) -> bool:
        """Delete an image; False (logged) if the image API refused or was unreachable."""
        try:
            self._api.delete(str(image_id))
        except ControlPlaneError as exc:
            LOG.warning("image %s not deleted: %s", image_id, exc)
            return False
        return True
