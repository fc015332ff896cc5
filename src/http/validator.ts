import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

/** TypeBox validation, as @fastify/type-provider-typebox's compiler does it (a path, query or
 * header is converted: text to numbers, one value to a list), except that a part which already
 * fits its schema is taken as it is. The conversion walks the schema on every request and costs
 * more than the compiled check; most paths and queries need none. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value) => {
    if (check.Check(value)) return { value };
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value);
    return check.Check(converted) ? { value: converted } : { error: check.Errors(converted) };
  };
};
