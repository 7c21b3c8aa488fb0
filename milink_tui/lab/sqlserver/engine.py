"""The query pipeline: T-SQL SELECT text -> sqlglot AST -> qualified, typed, rewritten -> SQLite.

Steps for each distinct statement (the compiled plan is cached; values are always bound as
SQLite parameters, never formatted into SQL):

1. parse with sqlglot's T-SQL grammar (function calls kept as-is, so T-SQL semantics apply);
2. variables and @@globals become named placeholders;
3. catalog references (``sys.x``, ``master.sys.x``, ``[db].sys.x``, ``msdb.dbo.backupset``)
   become the SQLite tables that hold those views (error 208 otherwise);
4. sqlglot's qualifier resolves every column (errors 207/209);
5. :mod:`typer` types every expression -> result-set column metadata;
6. OUTER/CROSS APPLY is decorrelated, functions become ``t_<name>`` SQLite functions, string
   ``+`` becomes ``||``, CAST/CONVERT keep T-SQL styles;
7. the tree is generated as SQLite SQL.

Running a plan refreshes exactly the referenced views from the model, then executes. A top-level
``FOR JSON`` clause is taken off before step 3 and kept in ``Plan.extra["for_json"]``; the typed
rows are then serialised by :mod:`for_json` into the one-column result SQL Server sends.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from ..tds.backend import Column, SqlType
from .catalog import DATABASE, MSDB, VIEWS, ColumnDef, find_view
from .context import ExecEnv
from .errors import TsqlError, sql_error, syntax_error
from .for_json import JsonOptions, JsonResult, auto_without_table_error, layout, parse_options
from .functions import FUNCTIONS, GLOBALS
from .sqltypes import convert_column, fits_int64, infer_type, to_sqlite, type_sql
from .tables import TableRef, TableStore
from .typer import NULL_KEY, TYPE_KEY, Typer, datatype_to_sqltype
from .udf import register_udfs

_KEEP_FUNCTIONS = {"COUNT", "COUNT_BIG", "SUM", "AVG", "MIN", "MAX"}
_DROP_FUNCTION_PARSERS = {"DATEPART", "CHAR", "CHR", "EXTRACT", "DECODE", "POSITION", "OVERLAY",
                          "NORMALIZE", "INITCAP", "CEIL", "FLOOR"}
NATIVE = {"COALESCE": "coalesce", "NULLIF": "nullif", "ABS": "abs", "ROW_NUMBER": "row_number",
          "RANK": "rank", "DENSE_RANK": "dense_rank", "NTILE": "ntile", "LAG": "lag", "LEAD": "lead",
          "FIRST_VALUE": "first_value", "LAST_VALUE": "last_value", "ISNULL": "ifnull"}


class LabTSQL(TSQL):
    """T-SQL dialect whose parser keeps built-in calls as written (semantics are ours, not sqlglot's)."""

    class Parser(TSQL.Parser):
        FUNCTIONS = {k: v for k, v in TSQL.Parser.FUNCTIONS.items() if k in _KEEP_FUNCTIONS}
        FUNCTION_PARSERS = {k: v for k, v in TSQL.Parser.FUNCTION_PARSERS.items()
                            if k not in _DROP_FUNCTION_PARSERS}


def unsupported(what: str) -> TsqlError:
    return TsqlError(40517, f"Keyword or statement option '{what}' is not supported in this version of "
                            "SQL Server.", 16, 1, batch_abort=True)


_PARSE_CACHE: OrderedDict[str, exp.Expression] = OrderedDict()


def parse_sql(text: str) -> exp.Expression:
    """Parse one SELECT (or WITH ... SELECT); syntax errors become 102/156 like the real parser."""
    cached = _PARSE_CACHE.get(text)
    if cached is not None:
        _PARSE_CACHE.move_to_end(text)
        return cached
    try:
        trees = [t for t in LabTSQL().parse(text) if t is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        near = (err.get("highlight") or "").strip() or text.strip().split()[-1]
        raise syntax_error(near) from exc
    if len(trees) != 1 or not isinstance(trees[0], (exp.Query,)):
        raise syntax_error(text.strip().split()[0] if text.strip() else "")
    tree = trees[0]
    _PARSE_CACHE[text] = tree
    if len(_PARSE_CACHE) > 2000:
        _PARSE_CACHE.popitem(last=False)
    return tree


@dataclass
class OutCol:
    name: str
    type: SqlType | None
    nullable: bool


@dataclass
class Plan:
    sql: str
    refs: list[TableRef]
    columns: list[OutCol]
    params: dict[str, str]  # placeholder -> variable ('@x') or global ('@@VERSION')
    assign: list[str] | None = None  # SELECT @a = ..., @b = ...: the variables, in order
    dmv: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class QueryEngine:
    """Compiles and runs SELECT statements against the catalog tables in SQLite."""

    def __init__(self, conn: sqlite3.Connection, tables: TableStore) -> None:
        self.conn = conn
        self.tables = tables
        self.plans: OrderedDict[tuple, Plan] = OrderedDict()
        self.env: ExecEnv | None = None  # the environment UDFs see while a statement runs
        self.udf_error: TsqlError | None = None
        register_udfs(self)

    # ------------------------------------------------------------------ compile
    def plan(self, env: ExecEnv, text: str) -> Plan:
        var_sig = tuple(sorted((k, type_sql(t)) for k, (t, _) in env.variables.items()))
        key = (text, env.session.database.lower(), var_sig, env.major, env.sysadmin)
        plan = self.plans.get(key)
        if plan is None:
            plan = self._compile(env, parse_sql(text))
            self.plans[key] = plan
            if len(self.plans) > 1000:
                self.plans.popitem(last=False)
        else:
            self.plans.move_to_end(key)
        return plan

    def _compile(self, env: ExecEnv, original: exp.Expression) -> Plan:
        tree = original.copy()
        if tree.find(exp.Into) is not None:
            raise unsupported("SELECT INTO")
        json_options = _strip_for_clause(tree)
        assign = _assignment_targets(tree)
        if assign is not None and json_options is not None:
            raise unsupported("FOR JSON with variable assignment")
        _alias_equals(tree)
        _tag_output_names(tree)
        params = self._bind_variables(env, tree)
        refs, schema, dmv = self._resolve_tables(env, tree)
        _datepart_literals(tree)
        tree = self._qualify(tree, schema)
        typer = Typer({name: {c.name: c for c in cols} for name, cols in schema.items()})
        typer.run(tree)
        for node in tree.walk():
            if TYPE_KEY not in node.meta:
                typer.type_of(node)
        columns = _output_columns(tree, typer)
        needed = _needed_columns(tree, schema, refs, self.tables)
        extra: dict[str, Any] = {"needed": needed}
        if json_options is not None:  # shape errors (13601/13603/13605) are compile-time, like SQL Server's
            extra["for_json"] = JsonResult(json_options, layout([c.name for c in columns], json_options.mode))
        tree = _rewrite_apply(tree)
        tree = _to_sqlite(tree)
        sql = tree.sql(dialect="sqlite")
        return Plan(sql, refs, columns, params, assign, dmv, extra)

    def _bind_variables(self, env: ExecEnv, tree: exp.Expression) -> dict[str, str]:
        params: dict[str, str] = {}
        by_var: dict[str, str] = {}
        for node in list(tree.find_all(exp.Parameter)):
            if isinstance(node.parent, exp.Parameter):
                continue
            if isinstance(node.this, exp.Parameter):
                name = "@@" + node.this.name.upper()
                if name not in GLOBALS:
                    raise sql_error(137, "@@" + node.this.name)
                t = GLOBALS[name][0]
            else:
                name = "@" + node.name
                entry = env.variables.get(name.lower())
                if entry is None:
                    raise sql_error(137, name)
                t = entry[0]
                name = name.lower()
            pname = by_var.get(name)
            if pname is None:
                pname = f"p{len(by_var) + 1}"
                by_var[name] = pname
                params[pname] = name
            ph = exp.Placeholder(this=pname)
            ph.meta[TYPE_KEY] = t
            node.replace(ph)
        return params

    def _resolve_tables(self, env: ExecEnv, tree: exp.Expression):
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        refs: list[TableRef] = []
        schema: dict[str, list[ColumnDef]] = {}
        dmv = False
        for table in list(tree.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                raise unsupported(table.sql(dialect="tsql"))
            name, schema_name, db_name = table.name, table.db, table.catalog
            if not schema_name and not db_name and name.lower() in ctes:
                continue
            view, ref = self._lookup(env, table, name, schema_name, db_name)
            if view.dmv:
                dmv = True
                if not env.sysadmin:
                    perm = "VIEW SERVER PERFORMANCE STATE" if env.major >= 16 else "VIEW SERVER STATE"
                    err = sql_error(300, perm)
                    err.extra.append(sql_error(297))
                    raise err
            sqlite_name = self.tables.table_name(ref)
            if ref not in refs:
                refs.append(ref)
            schema[sqlite_name] = view.columns_for(env.major)
            alias = table.alias or name
            table.set("this", exp.to_identifier(sqlite_name))
            table.set("db", None)
            table.set("catalog", None)
            table.set("hints", None)
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        return refs, schema, dmv

    def _lookup(self, env: ExecEnv, table: exp.Table, name: str, schema_name: str, db_name: str):
        written = ".".join(p for p in (db_name, schema_name, name) if p or db_name)
        if db_name and not schema_name:
            schema_name = "dbo"
        schema_lower = (schema_name or "dbo").lower()
        database = db_name or env.session.database
        db = env.find_db(database)
        view = find_view(schema_lower, name)
        if view is None or db is None or view.min_major > env.major:
            raise sql_error(208, written)
        if view.scope == MSDB and db.name.lower() != "msdb":
            raise sql_error(208, written)
        if view.scope == DATABASE:
            if db.state != "ONLINE":
                raise TsqlError(942, f"Database '{db.name}' cannot be opened because it is offline.", 14, 4,
                                batch_abort=True) if db.state == "OFFLINE" else TsqlError(
                    927, f"Database '{db.name}' cannot be opened. It is in the middle of a restore.", 14, 1,
                    batch_abort=True)
            return view, TableRef(view.key, db.name.lower())
        return view, TableRef(view.key, None)

    def _qualify(self, tree: exp.Expression, schema: dict[str, list[ColumnDef]]) -> exp.Expression:
        mapping = MappingSchema({t: {c.name: type_sql(c.type) for c in cols} for t, cols in schema.items()},
                                dialect="tsql")
        try:
            return qualify(tree, schema=mapping, dialect=LabTSQL, quote_identifiers=False, identify=False,
                           validate_qualify_columns=True)
        except OptimizeError as exc:
            message = str(exc)
            if message.startswith("Unknown column:"):  # a qualified column the table does not have
                raise sql_error(207, message.split(":", 1)[1].strip()) from exc
            col = message.split("'")[1] if message.count("'") >= 2 else message
            if "for table" in message:
                table = message.rsplit("'", 2)[-2] if message.count("'") >= 4 else ""
                raise TsqlError(4104, f'The multi-part identifier "{table}.{col}" could not be bound.', 16, 1,
                                batch_abort=True) from exc
            hits = sum(1 for cols in schema.values() for c in cols if c.name == col.lower())
            raise sql_error(209 if hits > 1 else 207, col) from exc

    # ------------------------------------------------------------------ run
    def run(self, env: ExecEnv, plan: Plan) -> tuple[list[Column], list[tuple[Any, ...]]]:
        env.begin_read()
        try:
            columns, rows = self._run(env, plan)
        finally:
            env.end_read()
        for_json: JsonResult | None = plan.extra.get("for_json")
        if for_json is not None:
            return for_json.format(columns, rows)
        return columns, rows

    def _run(self, env: ExecEnv, plan: Plan) -> tuple[list[Column], list[tuple[Any, ...]]]:
        needed = plan.extra.get("needed", {})
        self.conn.execute("BEGIN")
        try:
            for ref in plan.refs:
                self.tables.refresh(env, ref, needed.get(ref))
        finally:
            self.conn.execute("COMMIT")
        values = {}
        for pname, var in plan.params.items():
            if var.startswith("@@"):
                values[pname] = to_sqlite(GLOBALS[var][1](env))
            else:
                values[pname] = to_sqlite(env.variables[var][1])
        self.env, self.udf_error = env, None
        try:
            raw = self.conn.execute(plan.sql, values).fetchall()
        except sqlite3.Error as exc:
            pending, self.udf_error = self.udf_error, None
            if pending is not None:
                raise pending from None
            raise _sqlite_error(exc) from exc
        columns: list[Column] = []
        for i, oc in enumerate(plan.columns):
            t = oc.type
            if t is None:
                t = infer_type([r[i] for r in raw])
            columns.append(Column(oc.name, t, oc.nullable))
        if not raw:
            return columns, []
        by_column = [convert_column(c.type, list(values)) for c, values in zip(columns, zip(*raw, strict=True), strict=True)]
        return columns, list(zip(*by_column, strict=True))


def _sqlite_error(exc: sqlite3.Error) -> TsqlError:
    text = str(exc)
    if "no such function" in text:
        return sql_error(195, text.rsplit(":", 1)[-1].strip().removeprefix("t_").upper())
    return TsqlError(8180, f"Statement(s) could not be prepared. ({text})", 16, 1, batch_abort=True)


# ---------------------------------------------------------------------- tree helpers


def _needed_columns(tree: exp.Expression, schema: dict[str, list[ColumnDef]], refs: list[TableRef],
                    tables: TableStore) -> dict[TableRef, tuple[str, ...]]:
    """Which columns of each referenced view the (qualified) query reads, in table order."""
    alias_tables: dict[str, set[str]] = {}
    for table in tree.find_all(exp.Table):
        alias_tables.setdefault(table.alias_or_name, set()).add(table.name)
    used: dict[str, set[str]] = {}
    for col in tree.find_all(exp.Column):
        for tname in alias_tables.get(col.table, ()):
            used.setdefault(tname, set()).add(col.name)
    out = {}
    for ref in refs:
        tname = tables.table_name(ref)
        names = used.get(tname, set())
        out[ref] = tuple(c.name for c in VIEWS[ref.view].columns if c.name in names)
    return out


def _strip_for_clause(tree: exp.Expression) -> JsonOptions | None:
    """Take the top-level FOR clause off the query (FOR JSON PATH; AUTO over one source only)."""
    clause = tree.args.get("for_") if isinstance(tree, exp.Query) else None
    options = None
    if clause is not None:
        options = parse_options(clause, unsupported)
        tree.set("for_", None)
        if options.mode == "AUTO":
            _check_auto(tree)
    if any(q.args.get("for_") is not None for q in tree.find_all(exp.Query)):
        raise unsupported("FOR JSON in a subquery")
    return options


def _check_auto(tree: exp.Expression) -> None:
    """FOR JSON AUTO over a single table, view, CTE or derived table is PATH without dotted nesting
    (a SQL Server 2022 capture shows dotted aliases stay flat in AUTO); joins would nest arrays per
    table, which the lab does not do, so those stay unsupported."""
    if not isinstance(tree, exp.Select):
        raise unsupported("FOR JSON AUTO")
    if tree.args.get("from_") is None:
        raise auto_without_table_error()
    if tree.args.get("joins"):
        raise unsupported("FOR JSON AUTO")


def _assignment_targets(tree: exp.Expression) -> list[str] | None:
    """SELECT @a = x, @b = y ...: return ['@a', '@b'] and leave only the expressions."""
    if not isinstance(tree, exp.Select):
        return None
    targets = []
    projections = list(tree.expressions)
    for p in projections:
        if isinstance(p, exp.EQ) and isinstance(p.this, exp.Parameter) and not isinstance(
                p.this.this, exp.Parameter):
            targets.append("@" + p.this.name)
    if not targets:
        return None
    if len(targets) != len(projections):
        raise sql_error(141, severity=15)
    tree.set("expressions", [p.expression for p in projections])
    return [t.lower() for t in targets]


def _alias_equals(tree: exp.Expression) -> None:
    """T-SQL's ``SELECT [Label] = expr`` projection alias syntax."""
    for select in tree.find_all(exp.Select):
        new = []
        changed = False
        for p in select.expressions:
            if isinstance(p, exp.EQ) and isinstance(p.this, exp.Column) and not p.this.table:
                new.append(exp.alias_(p.expression, p.this.this.copy()))
                changed = True
            else:
                new.append(p)
        if changed:
            select.set("expressions", new)


def _tag_output_names(tree: exp.Expression) -> None:
    """Remember each outer projection's name as written (qualify lower-cases aliases)."""
    select = _leftmost_select(tree)
    if select is None:
        return
    for p in select.expressions:
        if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)):
            continue
        if isinstance(p, exp.Alias):
            p.meta["outname"] = p.alias
        elif isinstance(p, exp.Column):
            p.meta["outname"] = p.name
        else:
            p.meta["outname"] = ""


def _leftmost_select(tree: exp.Expression) -> exp.Select | None:
    node = tree
    while isinstance(node, (exp.Union, exp.Intersect, exp.Except, exp.Subquery)):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _datepart_literals(tree: exp.Expression) -> None:
    for node in tree.find_all(exp.Anonymous):
        fn = FUNCTIONS.get(node.name.upper())
        if fn is not None and fn.datepart and node.expressions:
            first = node.expressions[0]
            if isinstance(first, (exp.Column, exp.Var)) and not (isinstance(first, exp.Column) and first.table):
                first.replace(exp.Literal.string(first.name))


def _output_columns(tree: exp.Expression, typer: Typer) -> list[OutCol]:
    selects: list[exp.Select] = []
    node: exp.Expression = tree
    branches = [node]
    while branches:
        n = branches.pop(0)
        if isinstance(n, (exp.Union, exp.Intersect, exp.Except)):
            branches[:0] = [n.this, n.expression]
        elif isinstance(n, exp.Subquery):
            branches.insert(0, n.this)
        elif isinstance(n, exp.Select):
            selects.append(n)
    first = selects[0]
    out = []
    for i, proj in enumerate(first.expressions):
        name = proj.meta.get("outname")
        if name is None and isinstance(proj, exp.Alias):
            name = proj.this.meta.get("outname")
        if name is None:
            name = proj.alias_or_name
        if name.startswith("_col_"):
            name = ""
        types = [typer.type_of(s.expressions[i]) for s in selects if i < len(s.expressions)]
        t = types[0] if len(selects) == 1 else _union_type(types)
        nullable = any(typer.nullable_of(s.expressions[i]) for s in selects if i < len(s.expressions))
        out.append(OutCol(name, t, nullable))
    return out


def _union_type(types: list[SqlType | None]) -> SqlType | None:
    from .sqltypes import precedence_winner

    return precedence_winner(types)


# ---------------------------------------------------------------------- APPLY


def _rewrite_apply(tree: exp.Expression) -> exp.Expression:
    """OUTER/CROSS APPLY (SQLite has no LATERAL): decorrelate into a (LEFT) JOIN."""
    for select in list(tree.find_all(exp.Select)):
        joins = select.args.get("joins") or []
        for join in list(joins):
            lateral = join.this
            if not isinstance(lateral, exp.Lateral):
                continue
            inner = lateral.this.this if isinstance(lateral.this, exp.Subquery) else lateral.this
            if not isinstance(inner, exp.Select):
                raise unsupported("APPLY")
            alias = lateral.alias
            cross = bool(lateral.args.get("cross_apply"))
            join.replace(_decorrelate(select, inner, alias, cross))
    return tree


def _inner_aliases(inner: exp.Select) -> set[str]:
    out = set()
    from_ = inner.args.get("from_")
    if from_ is not None:
        out.add(from_.this.alias_or_name)
    for j in inner.args.get("joins") or []:
        out.add(j.this.alias_or_name)
    return out


def _decorrelate(outer: exp.Select, inner: exp.Select, alias: str, cross: bool) -> exp.Join:
    inner = inner.copy()
    local = _inner_aliases(inner)
    where = inner.args.get("where")
    conds = _split_and(where.this) if where is not None else []
    keep, keys = [], []
    for c in conds:
        tables = {col.table for col in c.find_all(exp.Column)}
        if tables <= local:
            keep.append(c)
            continue
        if isinstance(c, exp.EQ):
            lt = {col.table for col in c.this.find_all(exp.Column)}
            rt = {col.table for col in c.expression.find_all(exp.Column)}
            if lt and lt <= local and not (rt & local):
                keys.append((c.this, c.expression))
                continue
            if rt and rt <= local and not (lt & local):
                keys.append((c.expression, c.this))
                continue
        raise unsupported("APPLY with a non-equality correlation")
    for col in inner.find_all(exp.Column):
        if col.table and col.table not in local and not any(col is k[1] or col in k[1].find_all(exp.Column)
                                                             for k in keys):
            raise unsupported("APPLY correlated outside WHERE")
    limit = inner.args.get("limit")
    order = inner.args.get("order")
    new_selects = list(inner.expressions)
    key_names = []
    for i, (inner_expr, _) in enumerate(keys):
        kname = f"_k{i}"
        key_names.append(kname)
        new_selects.append(exp.alias_(inner_expr.copy(), kname))
    inner.set("where", exp.Where(this=exp.and_(*keep)) if keep else None)
    if limit is not None:
        partition = [k[0].copy() for k in keys]
        window = exp.Window(this=exp.Anonymous(this="row_number"), partition_by=partition or None,
                            order=order.copy() if order is not None else None)
        new_selects.append(exp.alias_(window, "_rn"))
    inner.set("expressions", new_selects)
    inner.set("limit", None)
    inner.set("order", None)
    on_parts: list[exp.Expression] = [
        exp.EQ(this=exp.column(k, table=alias), expression=outer_expr.copy())
        for k, (_, outer_expr) in zip(key_names, keys, strict=True)]
    if limit is not None:
        on_parts.append(exp.LTE(this=exp.column("_rn", table=alias), expression=limit.expression.copy()))
    on = exp.and_(*on_parts) if on_parts else exp.true()
    return exp.Join(this=exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                    on=on, side=None if cross else "LEFT", kind="INNER" if cross else None)


def _split_and(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.And):
        return _split_and(node.this) + _split_and(node.expression)
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        return _split_and(node.this)
    return [node]


# ---------------------------------------------------------------------- SQLite rewrite

_SAFE = (
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.From, exp.Join, exp.Where, exp.Group,
    exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset, exp.Distinct, exp.Table, exp.TableAlias,
    exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Null, exp.Boolean, exp.Placeholder,
    exp.Paren, exp.Neg, exp.Not, exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is,
    exp.In, exp.Between, exp.Exists, exp.Case, exp.If, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe,
    exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot, exp.Count, exp.Sum, exp.Avg, exp.Min,
    exp.Max, exp.Window, exp.WindowSpec, exp.Anonymous, exp.With, exp.CTE, exp.Tuple, exp.Var, exp.Add,
    exp.Collate, exp.HexString, exp.DataType, exp.DataTypeParam, exp.Like, exp.LimitOptions, exp.Escape,
    exp.Any, exp.All, exp.PropertyEQ, exp.Bracket, exp.Unary, exp.Connector,
)


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _typeof(node: exp.Expression) -> SqlType | None:
    return node.meta.get(TYPE_KEY)


def _is_str(t: SqlType | None) -> bool:
    return t is not None and t.name in ("char", "varchar", "nchar", "nvarchar")


def _is_date(t: SqlType | None) -> bool:
    return t is not None and t.name in ("datetime", "datetime2", "date", "datetimeoffset")


def _is_number(t: SqlType | None) -> bool:
    return t is not None and t.name in ("int", "bigint", "smallint", "tinyint", "decimal", "numeric", "float",
                                        "real", "bit")


def _to_sqlite(tree: exp.Expression) -> exp.Expression:
    return _rewrite(tree)


def _rewrite(node: exp.Expression) -> exp.Expression:
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            new = _rewrite(value)
            if new is not value:
                node.set(key, new)
        elif isinstance(value, list):
            node.set(key, [_rewrite(v) if isinstance(v, exp.Expression) else v for v in value])
    out = _translate(node)
    if out is not node:
        out.meta.update({k: v for k, v in node.meta.items() if k in (TYPE_KEY, NULL_KEY)})
    return out


def _translate(node: exp.Expression) -> exp.Expression:  # noqa: C901 - one node type per branch
    t = _typeof(node)
    if isinstance(node, exp.National):
        return exp.Literal.string(node.this)
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit() \
            and not fits_int64(int(node.this)):
        return exp.Literal.string(node.this)  # SQLite would read it as a float and lose digits
    if isinstance(node, (exp.Add, exp.Sub)) and _is_date(_typeof(node.this)) and _is_number(_typeof(node.expression)):
        days = node.expression if isinstance(node, exp.Add) else exp.Neg(this=exp.Paren(this=node.expression))
        return _call("t_dateadd", exp.Literal.string("day"), days, node.this)  # datetime +/- n days
    if isinstance(node, exp.Add):
        if _is_str(t):
            return exp.DPipe(this=node.this, expression=node.expression, safe=False)
        return node
    if isinstance(node, (exp.Cast, exp.TryCast)):
        target = datatype_to_sqltype(node.args["to"])
        src = _typeof(node.this)
        strict = not (isinstance(node, exp.TryCast) or node.args.get("safe"))
        return _call("t_cast", node.this, exp.Literal.string(type_sql(target)), exp.null(),
                     exp.Literal.string(type_sql(src) if src else ""), exp.Literal.number(int(strict)))
    if isinstance(node, exp.Convert):
        target = datatype_to_sqltype(node.this)
        value = node.expression
        src = _typeof(value)
        style = node.args.get("style")
        strict = not node.args.get("safe")
        return _call("t_cast", value, exp.Literal.string(type_sql(target)), style or exp.null(),
                     exp.Literal.string(type_sql(src) if src else ""), exp.Literal.number(int(strict)))
    if isinstance(node, exp.Anonymous):
        return _function(node)
    if isinstance(node, exp.Chr):
        return _call("t_char", *node.expressions)
    if isinstance(node, exp.Substring):
        return _call("t_substring", node.this, node.args.get("start") or exp.Literal.number(1),
                     node.args.get("length") or exp.Literal.number(2**31 - 1))
    if isinstance(node, exp.Trim):
        return _call("t_trim", node.this)
    if isinstance(node, exp.CurrentTimestamp):
        return _call("t_getdate")
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return _call("t_user_name")
    if isinstance(node, exp.GroupConcat):
        inner = node.this
        args: list[exp.Expression] = []
        if isinstance(inner, exp.Order):
            args.append(inner.this)
            sep = node.args.get("separator") or exp.Literal.string(",")
            args.append(sep)
            for o in inner.expressions:
                args.extend([o.this, exp.Literal.number(int(bool(o.args.get("desc"))))])
        else:
            args.extend([inner, node.args.get("separator") or exp.Literal.string(",")])
        return _call("t_string_agg", *args)
    if isinstance(node, exp.Like):
        pattern = node.expression
        escape = None
        if isinstance(pattern, exp.Escape):
            escape, pattern = pattern.expression, pattern.this
        if escape is None and isinstance(pattern, exp.Literal) and pattern.is_string and "[" not in pattern.this:
            return node
        return exp.EQ(this=_call("t_like", node.this, pattern, escape or exp.null()),
                      expression=exp.Literal.number(1))
    if isinstance(node, exp.Collate):
        name = node.expression.name.upper() if node.expression is not None else ""
        return exp.Collate(this=node.this, expression=exp.Var(this="BINARY" if "_CS" in name or "_BIN" in name
                                                                 else "NOCASE"))
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In)):
        _upper_guid_operands(node)
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        left, right = node.this, node.expression
        if (_is_str(_typeof(left)) or _is_str(_typeof(right))) and not isinstance(left, exp.Column) \
                and not isinstance(right, exp.Column) and not isinstance(left, exp.Collate):
            node.set("this", exp.Collate(this=left, expression=exp.Var(this="NOCASE")))
        return node
    if isinstance(node, exp.Div):
        divisor = node.expression
        if isinstance(divisor, exp.Literal) and not divisor.is_string and float(divisor.this) != 0:
            return node
        return _call("t_div", node.this, divisor)
    if isinstance(node, exp.Limit):
        opts = node.args.get("limit_options")
        if opts is not None and (opts.args.get("percent") or opts.args.get("with_ties")):
            raise unsupported("TOP PERCENT" if opts.args.get("percent") else "WITH TIES")
        return node
    if isinstance(node, exp.Table):
        node.set("hints", None)
        return node
    if isinstance(node, exp.Var):
        return node
    if isinstance(node, _SAFE):
        return node
    if isinstance(node, exp.Func):
        raise sql_error(195, node.sql_name())
    raise unsupported(type(node).__name__.upper())


def _is_guid(t: SqlType | None) -> bool:
    return t is not None and t.name == "uniqueidentifier"


def _upper_guid_operands(node: exp.Expression) -> None:
    """GUID columns hold upper-case text; compare strings against them case-insensitively."""
    if isinstance(node, exp.In):
        if _is_guid(_typeof(node.this)):
            node.set("expressions", [_call("upper", e) if not _is_guid(_typeof(e)) else e
                                     for e in node.expressions])
        return
    left, right = node.this, node.expression
    if _is_guid(_typeof(left)) and not _is_guid(_typeof(right)):
        node.set("expression", _call("upper", right))
    elif _is_guid(_typeof(right)) and not _is_guid(_typeof(left)):
        node.set("this", _call("upper", left))


def _function(node: exp.Anonymous) -> exp.Expression:
    name = node.name.upper()
    args = list(node.expressions)
    if name == "IIF":
        if len(args) != 3:
            raise sql_error(174, "iif", 3)
        return exp.Case(ifs=[exp.If(this=args[0], true=args[1])], default=args[2])
    if name in NATIVE:
        if name == "ISNULL" and len(args) != 2:
            raise sql_error(174, "isnull", 2)
        return _call(NATIVE[name], *args)
    if name in ("COUNT_BIG",):
        return exp.Count(this=args[0] if args else exp.Star())
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise sql_error(195, node.name)
    if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
        count = fn.min_args if fn.min_args == fn.max_args else f"{fn.min_args} to {fn.max_args or 'n'}"
        raise sql_error(174, node.name.lower(), count)
    if name == "DATALENGTH":
        t = _typeof(args[0])
        args = [args[0], exp.Literal.number(int(t is not None and t.name in ("nvarchar", "nchar")))]
    return _call("t_" + name.lower(), *args)


def column_types(columns: list[ColumnDef]) -> dict[str, SqlType]:
    return {c.name: c.type for c in columns}


__all__ = ["LabTSQL", "QueryEngine", "Plan", "OutCol", "parse_sql", "unsupported", "VIEWS"]
