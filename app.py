"""The agent-allocation API: a Chalice app wiring the agent and customer routes.

Routes live in ``chalicelib/routes``; services, the store and configuration
are built lazily on first use, so importing this module touches neither
boto3 clients nor the environment.
"""

from chalice import Chalice

from chalicelib.routes import agents, customers
from chalicelib.routes.common import standard_responses

app = Chalice(app_name="agent-allocation")
app.register_middleware(standard_responses, "http")
app.register_blueprint(agents.bp)
app.register_blueprint(customers.bp)
