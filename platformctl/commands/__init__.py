"""One module per `platformctl` command, each parsing its own arguments (`add_arguments`) and
orchestrating (`main`). A command never imports another: shared code lives below, in
`platformctl.program`, `platformctl.render`, `platformctl.reports` and the modules beside them."""
