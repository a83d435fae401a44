// Fastify compiles every route's request validators (Ajv) and response serializers
// (fast-json-stringify) when the server starts: for the five dialects, the pages and the OpenID
// provider that is several hundred operations of generated code kept resident, most of it for
// routes an instance may never serve. These wrap Fastify's own compilers (the same packages, the
// same options) so that each schema is compiled on its route's first use instead; the functions
// that then run are exactly Fastify's. (For a compiler of its own, Fastify no longer lower-cases the
// names in a `headers` schema: ours are written lower-case.)
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Compile = (route: unknown) => (...args: unknown[]) => unknown;
type Build = (externalSchemas: unknown, options: unknown) => Compile;

/** A validator compiled at its first call; Fastify reads `errors` after a failed call, as from Ajv's. */
function lazyValidator(compile: () => ReturnType<Compile>) {
  let fn: ReturnType<Compile> | undefined;
  const validate = (...args: unknown[]) => {
    fn ??= compile();
    const result = fn(...args);
    validate.errors = (fn as { errors?: unknown }).errors;
    return result;
  };
  validate.errors = undefined as unknown;
  // Fastify passes the request as the parent so that Ajv may write defaults at the root: every validator here is Ajv's.
  validate.schemaEnv = true;
  return validate;
}

function lazySerializer(compile: () => ReturnType<Compile>) {
  let fn: ReturnType<Compile> | undefined;
  return (data: unknown) => (fn ??= compile())(data);
}

export function lazyCompilers() {
  const validators = (AjvCompiler as unknown as () => Build)();
  const serializers = (SerializerSelector as unknown as () => Build)();
  return {
    buildValidator: (externalSchemas: unknown, options: unknown) => {
      const compile = validators(externalSchemas, options);
      return (route: unknown) => lazyValidator(() => compile(route));
    },
    buildSerializer: (externalSchemas: unknown, options: unknown) => {
      const compile = serializers(externalSchemas, options);
      return (route: unknown) => lazySerializer(() => compile(route));
    },
  };
}
