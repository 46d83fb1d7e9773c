// Values that are ready now on the hot path (a cached session, a cached token) and a promise otherwise. The one
// test for which it is: the code on either side stays without a closure on the synchronous path.
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}
