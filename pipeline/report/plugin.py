"""The data-quality reports inside Airflow's UI: an Airflow 3 plugin (registered through the
``airflow.plugins`` entry point of this package) with a FastAPI app that serves ``report_dir`` at
``/newsingest/`` to signed-in users, and an external view that shows it as "Data quality" in the
navigation, so a team sees source health where it watches its runs."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/newsingest"
ROUTE = "data-quality"


def create_app():
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import FileResponse, RedirectResponse

    from pipeline.settings import load_settings

    # Every route needs a signed-in Airflow user (the UI's session cookie or a bearer token).
    app = FastAPI(title="newsingest data quality", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(get_user)])
    mimetypes.add_type("text/javascript", ".js")

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse(f"{URL_PREFIX}/latest.html")

    @app.get("/{path:path}", include_in_schema=False)
    def page(path: str):
        root = Path(load_settings().report_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise HTTPException(status_code=404)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            detail = "no report yet: it is written when a run lands" if path in ("", "latest.html", "index.html") else "not found"
            raise HTTPException(status_code=404, detail=detail)
        # Reports change with every run; plotly.js only with the package.
        cache = "max-age=86400" if target.name.endswith(".min.js") else "no-cache"
        return FileResponse(target, headers={"Cache-Control": cache})

    return app


class DataQualityPlugin(AirflowPlugin):
    name = "newsingest_data_quality"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "newsingest data quality reports"}]
    external_views = [{
        "name": "Data quality",
        "href": f"{URL_PREFIX}/latest.html",
        "destination": "nav",
        "url_route": ROUTE,
        "nav_top_level": True,
    }]
