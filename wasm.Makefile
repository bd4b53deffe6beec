# Builds every plugin (a folder under plugins/ with wasm/main.go and manifest.json)
# to build/plugins/NAME.wasm with its manifest beside it as NAME.json.
GO ?= go
OUT ?= build/plugins
PLUGINS := $(patsubst plugins/%/wasm/main.go,%,$(wildcard plugins/*/wasm/main.go))
SDK := $(wildcard plugins/sdk/*.go plugins/sdk/*/*.go api/laravel/*.go)

.PHONY: all
all: $(foreach p,$(PLUGINS),$(OUT)/$(p).wasm $(OUT)/$(p).json)

.SECONDEXPANSION:
$(OUT)/%.wasm: $(SDK) $$(wildcard plugins/$$*/*.go plugins/$$*/wasm/*.go) go.mod
	@mkdir -p $(OUT)
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -buildmode=c-shared -o $@.tmp ./plugins/$*/wasm
	@mv $@.tmp $@

$(OUT)/%.json: plugins/%/manifest.json
	@mkdir -p $(OUT)
	cp $< $@
