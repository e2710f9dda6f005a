"""Default policy of the image API: upstream Glance's rule names and new defaults.

Glance checks most rules against the image (its owner, visibility); here the route rule
is checked against the caller's own project and the handlers keep hiding images a
project may not see (404), as Glance does.
"""

from __future__ import annotations

from common.policy import RouteTable, RuleDefault

ADMIN = "role:admin"
READER = "role:admin or (role:reader and project_id:%(project_id)s)"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"
# Compute agents (their own service credential) read images to spawn servers, upload
# snapshots and carry disks of cold migrations through transfer images.
AGENT = "role:service"
READER_OR_AGENT = f"{READER} or {AGENT}"
MEMBER_OR_AGENT = f"{MEMBER} or {AGENT}"

DEFAULTS: list[RuleDefault] = [
    RuleDefault("context_is_admin", "role:admin", "Decides who counts as an administrator."),
    RuleDefault("get_images", READER, "List images", (("GET", "/v2/images"),)),
    RuleDefault("get_image", READER_OR_AGENT, "Show an image (and its tasks)",
                (("GET", "/v2/images/{image_id}"), ("GET", "/v2/images/{image_id}/tasks"))),
    RuleDefault("add_image", MEMBER_OR_AGENT, "Create an image", (("POST", "/v2/images"),)),
    RuleDefault("delete_image", MEMBER_OR_AGENT, "Delete an image",
                (("DELETE", "/v2/images/{image_id}"),)),
    RuleDefault("upload_image", MEMBER_OR_AGENT, "Upload image data",
                (("PUT", "/v2/images/{image_id}/file"),)),
    RuleDefault("download_image", MEMBER_OR_AGENT, "Download image data",
                (("GET", "/v2/images/{image_id}/file"),)),
    RuleDefault("modify_image", MEMBER, "Update an image"),
    RuleDefault("publicize_image", ADMIN, "Make an image public"),
    RuleDefault("communitize_image", MEMBER, "Make an image a community image"),
]


def route_table() -> RouteTable:
    return RouteTable(DEFAULTS, public=[("GET", "/"), ("GET", "/openapi.json")])
