"""One router per resource; :data:`ROUTERS` is what :func:`api.app.create_app` mounts."""

from api.routes import audit, exports, health, imports, placements, recommendations, records

ROUTERS = [
    health.router,
    records.router,
    recommendations.router,
    imports.router,
    placements.router,
    exports.router,
    audit.router,
]

__all__ = ["ROUTERS"]
