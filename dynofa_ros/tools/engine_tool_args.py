"""Arguments and loading shared by the engine's offline tools (profile, calibrate)."""

import argparse
import os
import sys

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common import paths
from dynofa_ros.core.system import user_data

EXIT_BAD_INPUT = 2


class ToolError(Exception):
    """Invalid input: the tool prints the message and exits with code 2."""


def add_common(parser):
    """Add --catalog, --checkpoint and --subnets to a parser."""
    parser.add_argument('--catalog', default=catalog_mod.DEFAULT_CATALOG,
                        help='sub-network catalog YAML (default: %(default)s)')
    parser.add_argument('--checkpoint', default='',
                        help="OFA supernet checkpoint ({'state_dict': ...}); without one the "
                             'supernet has random weights')
    parser.add_argument('--subnets', type=id_list, default=[],
                        help='comma-separated sub-network ids (default: all in the catalog)')


def id_list(text):
    ids = [part.strip() for part in text.split(',') if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError('expected comma-separated sub-network ids')
    return ids


def int_list(text):
    try:
        values = [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a comma-separated list of integers')
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f'{text!r}: expected integers >= 1')
    return values


def load_catalog(path):
    """Resolve and load a catalog; ToolError on any problem."""
    try:
        return catalog_mod.load(paths.resolve(path, 'catalog'))
    except (FileNotFoundError, catalog_mod.CatalogError) as exc:
        raise ToolError(str(exc))


def select(catalog, ids):
    """Return the catalog entries named by ids (all if empty); ToolError for unknown ids."""
    if not ids:
        return list(catalog.subnets)
    try:
        return [catalog.get(i) for i in ids]
    except KeyError as exc:
        raise ToolError(exc.args[0])


def load_supernet(catalog, checkpoint, warn):
    """Build the catalog's supernet and load the checkpoint; ToolError if it cannot be used."""
    from dynofa_ros.core.perception.supernet import build_supernet, EngineError, load_checkpoint
    net = build_supernet(catalog.supernet)
    if not checkpoint:
        warn(f'no --checkpoint: {catalog.supernet} has RANDOM WEIGHTS')
        return net
    try:
        return load_checkpoint(net, paths.resolve(checkpoint, 'checkpoint'), catalog.supernet)
    except (FileNotFoundError, EngineError) as exc:
        raise ToolError(str(exc))


def parse(parser, argv):
    """Parse argv; return (args, None) or (None, exit code) instead of raising SystemExit."""
    try:
        return parser.parse_args(argv), None
    except SystemExit as exc:
        return None, exc.code


def output_catalog(catalog, output=''):
    """
    Return where a changed catalog is written; ToolError for a shipped or tracked file.

    --output if given; else a shipped catalog's copy in the user data directory, or the user's
    own catalog itself.
    """
    try:
        if output:
            out = user_data.writable_output(output, 'catalog')
        elif user_data.is_shipped(catalog.path):
            out = user_data.new_copy_of(catalog.path)
        else:
            out = catalog.path
        os.makedirs(os.path.dirname(out), exist_ok=True)
    except ValueError as exc:
        raise ToolError(str(exc))
    except OSError as exc:
        raise ToolError(f'cannot create the folder of {out}: {exc.strerror}')
    return out


def save_catalog(catalog, out):
    """Write the catalog to `out`, keeping its bn_stats reference valid from the new place."""
    import os
    if catalog.bn_stats and os.path.abspath(out) != catalog.path:
        stats = catalog.bn_stats_path()
        catalog.bn_stats = os.path.relpath(stats, os.path.dirname(os.path.abspath(out)))
    try:
        catalog.save(out)
    except OSError as exc:
        raise ToolError(f'cannot write catalog {out}: {exc.strerror}')


def main(prog, parse_args, run, argv=None):
    """Parse, run, and turn a ToolError into its message and exit code 2."""
    args, code = parse_args(argv)
    if args is None:
        return code
    try:
        return run(args)
    except ToolError as exc:
        print(f'{prog}: error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
