#!/bin/sh
# The container's entry point: gives the data directory the PyMC models compiled when the image was
# built, then runs the command (`gonogo serve` unless another is given) in its place, so that it
# receives the container's signals.
#
# The compiled models live in /opt/gonogo/compiled-models/<digest>, the digest naming everything the
# machine code depends on (designs/engines/pymc/nutpie_compile.py); the service reads and writes them
# in $GONOGO_DATA_DIR/compiled-models. A digest the volume lacks is copied (a new volume, a bind
# mount, an upgraded image); one it has is left as it is. The copy is made under a temporary name and
# renamed, so a container starting beside another on the same volume never sees half of it. Where it
# cannot be copied (a data directory the service cannot write), the service starts anyway and
# compiles the models itself, or says why it cannot use the directory.
set -u
seed=/opt/gonogo/compiled-models
target="${GONOGO_DATA_DIR:-/data}/compiled-models"
for entry in "$seed"/*; do
    [ -d "$entry" ] || continue
    name=${entry##*/}
    [ -e "$target/$name" ] && continue
    if partial=$(mkdir -p "$target" 2>/dev/null && mktemp -d "$target/.$name.XXXXXX" 2>/dev/null) \
        && cp -R "$entry/." "$partial/" 2>/dev/null \
        && { mv -T "$partial" "$target/$name" 2>/dev/null || [ -e "$target/$name" ]; }; then
        rm -rf "$partial"  # left only when another container renamed its copy first
    else
        [ -n "${partial:-}" ] && rm -rf "$partial"
        echo "gonogo-entrypoint: could not copy the compiled models to $target: they will be compiled at start" >&2
    fi
done
exec "$@"
