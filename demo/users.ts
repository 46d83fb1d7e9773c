// The demo accounts of the development provider: who exists and which claims each one carries.

export interface DemoUser {
  username: string;
  email: string;
  name: string;
  roles: readonly string[];
}

export interface DemoUserClaims {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  preferred_username: string;
  roles: string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', email: 'alice@example.test', name: 'Alice Example', roles: ['admin'] },
  { username: 'carol', email: 'carol@example.test', name: 'Carol Ångström', roles: ['user'] },
  { username: 'bob', email: 'bob@example.test', name: 'Bob Example', roles: [] },
];

export function findDemoUser(username: string): DemoUser | undefined {
  return DEMO_USERS.find((user) => user.username === username);
}

export function demoUserClaims(user: DemoUser, roles: readonly string[]): DemoUserClaims {
  return {
    sub: user.username,
    email: user.email,
    email_verified: true,
    name: user.name,
    preferred_username: user.username,
    roles: [...roles],
  };
}
