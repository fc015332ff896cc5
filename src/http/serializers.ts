import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/** Fastify's response serializers (fast-json-stringify), one per distinct schema instead of one per
 * route, status and content type. Every route answers its errors with the same problem details,
 * for six to nine statuses: compiled apart, those were most of the serializers an idle server
 * kept, each a function of its own with its source text. A context's shared schemas (what a $ref
 * names) are fixed for the compiler Fastify builds for it, so equal schemas serialize alike
 * within it. */
export function sharedSerializers(): SerializerFactory {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    const made = new Map<string, ReturnType<typeof compile>>();
    return (route) => {
      const key = JSON.stringify(route.schema);
      let serialize = made.get(key);
      if (!serialize) made.set(key, (serialize = compile(route)));
      return serialize;
    };
  };
}
