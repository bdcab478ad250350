"""The agent-allocation API: a Chalice app wiring the agent and customer routes.

Routes live in ``chalicelib/routes``; services, the store and configuration
are built lazily on first use, so importing this module touches neither
boto3 clients nor the environment.
"""

from chalice import Chalice

from chalicelib.routes import agents, customers, docs, supervisors
from chalicelib.routes.common import preflight, standard_responses

app = Chalice(app_name="agent-allocation")
app.register_middleware(standard_responses, "http")
app.register_blueprint(agents.bp)
app.register_blueprint(customers.bp)
app.register_blueprint(supervisors.bp)
app.register_blueprint(docs.bp)

# CORS preflight for every path, answered by the function itself (see
# chalicelib/routes/common.py): which origins are allowed is configuration,
# read at run time, not baked into the API Gateway definition.
for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"], name=f"preflight_{len(app.routes)}")(preflight)
