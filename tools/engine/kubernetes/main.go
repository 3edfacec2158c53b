// The Kubernetes resource provider (pulumi-resource-kubernetes), built from its Go module.
//
// The module's own main package embeds schema files its Makefile generates, which the
// module archive lacks; tools/engine/build.py writes them here from the module's
// schema.json (with the version set) and this main serves the provider with them.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
