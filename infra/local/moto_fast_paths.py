"""moto's per-request hot spots, made cheap without changing what a valid request gets.

Profiling the bench's cold starts showed moto spending 7-10 ms of Python on one UpdateItem
of the dead-letter ledger (14 SET actions), against 0.7 ms for a GetItem, and the same
costs again inside every TransactWriteItems Update. Every function's first batch waited on
that, so the cold-start rows measured moto more than the functions. Where the time went,
and what is done about it here:

* Every UpdateExpression was parsed twice per request (responses.py, then models). The
  parse depends only on the string, and moto never mutates the parsed tree (the validator
  works on its own copy), so parses are memoised by expression string. A parse that fails
  raises every time, as before: failures are not cached.
* The validator deep-copied the tree with copy.deepcopy; a pickle round trip makes the
  same independent copy (parents and all) in a fraction of the time.
* Each of the validator's ten tree walks asked `isinstance(node, <ABC tuple>)` for every
  node, rebuilding the tuple from a fresh dict each time. The walk now looks up the
  processor once per node class; the nodes visited, their order and the processor
  applied to each are the same.
* ActionCountValidator and OverlappingPathsValidator re-ran their whole-subtree search at
  every nested UpdateExpression node, which is quadratic in the number of actions. They
  now check the root only: a clause counted twice, or a path written twice, anywhere in
  the tree is also found in the root's subtree, so the same requests are refused with the
  same exception type. (Only when one request breaks several rules at once may the
  message name a different one of them than moto's own order would.)
* The server looked up the backend for each request by listing moto's package directory
  and stat-ing its entries; the list of modules is fixed for the process, so it is read
  once.

`moto_server.py` imports this module; `test_moto_fast_paths.py` checks both the results
and the refusals against requests our functions make and ones they must not.
"""

from __future__ import annotations

import copy
import functools
import pickle

import moto.backends as backends
from moto.dynamodb.parsing import expressions, validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node, UpdateExpression

_parse_update_expression = expressions.UpdateExpressionParser.make.__func__


@functools.lru_cache(maxsize=512)
def _parsed_update_expression(parser_class, expression: str):
    return _parse_update_expression(parser_class, expression)


expressions.UpdateExpressionParser.make = classmethod(_parsed_update_expression)


def _validator_init(self, expression, expression_attribute_names, expression_attribute_values, item, table):
    # validators.Validator.__init__, with the tree copied by pickle instead of deepcopy.
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.processors = self.get_ast_processors()
    try:
        self.node_to_validate = pickle.loads(pickle.dumps(expression, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):  # a tree pickle cannot copy
        self.node_to_validate = copy.deepcopy(expression)


validators.Validator.__init__ = _validator_init

_is_node_class: dict[type, bool] = {}
# (traverser class, node class) -> the key of the traverser's processing map that moto's
# `process` would match first, or None. moto builds each map from fixed classes.
_processed_class: dict[tuple[type, type], type | None] = {}


def _processor_for(traverser, node_class: type):
    """The processor moto's `process` would pick for a node of this class, or None."""
    processing_map = traverser.__dict__.get("_processing_map_once")
    if processing_map is None:
        processing_map = traverser.__dict__["_processing_map_once"] = traverser._processing_map()
    # Which of the map's classes matches depends only on the two classes: decided once.
    cache_key = (type(traverser), node_class)
    if cache_key not in _processed_class:
        _processed_class[cache_key] = next((key for key in processing_map if issubclass(node_class, key)), None)
    key = _processed_class[cache_key]
    return None if key is None else processing_map[key]


def _traverse_node_recursively(self, node, child_id=-1):
    # ast_nodes.DepthFirstTraverser.traverse_node_recursively, with the class checks cached.
    node_class = type(node)
    is_node = _is_node_class.get(node_class)
    if is_node is None:
        is_node = _is_node_class[node_class] = issubclass(node_class, Node)
    if not is_node:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            self.pre_processing_of_child(node, i)
            self.traverse_node_recursively(child_node, i)
    processor = _processor_for(self, node_class)
    if processor is not None:
        node = processor(node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


DepthFirstTraverser.traverse_node_recursively = _traverse_node_recursively


def _check_root_only(check_name: str):
    def traverse(self, node):
        if isinstance(node, UpdateExpression):
            getattr(self, check_name)(node)
        return node

    return traverse


validators.ActionCountValidator.traverse = _check_root_only("verify_action_counts")
validators.OverlappingPathsValidator.traverse = _check_root_only("check_for_overlapping_paths")

_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _moto_modules
