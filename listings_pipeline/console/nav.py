"""The sidebar: sections and links, each shown only to users holding its permission.

Seed 000 "Admin pages": a Pipeline section visible with pipeline:read. Review lists the jobs
waiting at the review gate; reading it needs pipeline:read like its pages (deciding needs
pipeline:review, checked by the decision routes).
"""

from __future__ import annotations

from dataclasses import dataclass

from listings_pipeline.console.users import Principal


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: str


@dataclass(frozen=True)
class NavSection:
    label: str
    permission: str
    items: tuple[NavItem, ...]


NAV: tuple[NavSection, ...] = (
    NavSection(
        "Pipeline",
        "pipeline:read",
        (
            NavItem("Jobs", "/pipeline/jobs", "pipeline:read"),
            NavItem("Review", "/pipeline/review", "pipeline:read"),
            NavItem("Configs", "/pipeline/configs", "pipeline:read"),
            NavItem("Listings", "/pipeline/listings", "pipeline:read"),
            NavItem("Claims", "/pipeline/claims", "pipeline:read"),
        ),
    ),
)


def visible_nav(principal: Principal | None) -> list[tuple[NavSection, list[NavItem]]]:
    if principal is None:
        return []
    return [
        (section, [i for i in section.items if principal.can(i.permission)])
        for section in NAV
        if principal.can(section.permission)
    ]
