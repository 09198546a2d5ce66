// The scripted model lives in product code (the doctor uses it too); the tests import it from here.
export * from "../../plugins/cli/scripted-model.ts";
