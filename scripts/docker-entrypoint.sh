#!/bin/sh
# The container's entry point: gives the data directory the PyMC models compiled when the image was
# built, then runs the command (`gonogo serve` unless another is given) in its place, so that it
# receives the container's signals.
#
# The compiled models live in /opt/gonogo/compiled-models/<digest>, the digest naming everything the
# machine code depends on (designs/engines/pymc/nutpie_compile.py); the service reads and writes them
# in $GONOGO_DATA_DIR/compiled-models. A digest the volume lacks is copied (a new volume, a bind
# mount, an upgraded image); one it has is left as it is. Where it cannot be copied (a read-only
# data directory), the service starts anyway and compiles the models itself.
set -u
seed=/opt/gonogo/compiled-models
target="${GONOGO_DATA_DIR:-/data}/compiled-models"
for entry in "$seed"/*; do
    [ -d "$entry" ] || continue
    name=${entry##*/}
    [ -e "$target/$name" ] && continue
    if ! { mkdir -p "$target" && cp -R "$entry" "$target/.$name.tmp.$$" && mv "$target/.$name.tmp.$$" "$target/$name"; } 2>/dev/null; then
        rm -rf "$target/.$name.tmp.$$" 2>/dev/null
        echo "gonogo-entrypoint: could not copy the compiled models to $target: they will be compiled at start" >&2
    fi
done
exec "$@"
