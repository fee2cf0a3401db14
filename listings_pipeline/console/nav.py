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
    permission: str | None  # None: every signed-in user


@dataclass(frozen=True)
class NavSection:
    label: str
    permission: str | None
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
    NavSection(
        "Account",
        None,
        (
            NavItem("API tokens", "/account/tokens", None),
            NavItem("All API tokens", "/admin/tokens", "accounts:admin"),
        ),
    ),
)


def visible_nav(principal: Principal | None) -> list[tuple[NavSection, list[NavItem]]]:
    if principal is None:
        return []

    def allowed(permission: str | None) -> bool:
        return permission is None or principal.can(permission)

    return [
        (section, [i for i in section.items if allowed(i.permission)])
        for section in NAV
        if allowed(section.permission)
    ]
