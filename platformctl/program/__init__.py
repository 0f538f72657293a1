"""The program runner: `__main__.py` under the Pulumi SDK's mock engine (`engine`), the mock
provider's outputs per resource type (`mocks`, one module per domain), and the state a run would
leave behind as a `pulumi stack export` document (`export`)."""
